"""Moving between CPU and GPU across modules: saving, optimizer state, comparisons, gradients.

The ``cuda`` tests skip without CuPy and a GPU; the mixed-device error and the float32 gradient
checks run everywhere.
"""
import numpy
import pytest

import minitl
from minitl import backend, nn, optim
from minitl.functional import elementwise, reductions
from minitl.models import SmallCNN
from minitl.nn import functional as F


def _one_step(model, opt, device):
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal((2, 1, 8, 8)), device=device)
    F.cross_entropy(model(x), minitl.tensor([0, 1], device=device)).backward()
    opt.step()
    opt.zero_grad()


def test_saving_a_gpu_model_writes_host_arrays(cuda, tmp_path):
    model = SmallCNN(3).to(cuda)
    minitl.save(model, tmp_path / "m.npz")
    minitl.io.save_safetensors(model, tmp_path / "m.safetensors")
    minitl.train.save_checkpoint(tmp_path / "c.npz", model)
    for path in ("m.npz", "m.safetensors"):
        loaded = minitl.io.read_weights(tmp_path / path)
        for name, value in model.state_dict().items():
            numpy.testing.assert_array_equal(loaded[name], backend.asnumpy(value))


@pytest.mark.parametrize("make", [lambda m: optim.SGD(m, lr=0.1, momentum=0.9), lambda m: optim.Adam(m, lr=1e-3)])
def test_optimizer_state_follows_the_model_to_the_gpu(cuda, make):
    model = SmallCNN(2)
    opt = make(model)
    _one_step(model, opt, "cpu")
    model.to(cuda)
    _one_step(model, opt, cuda)
    for state in opt.state.values():
        for value in state.values():
            if getattr(value, "ndim", 0):
                assert backend.device_of(value) == "cuda"


def test_gpu_tensor_compares_with_host_arrays_and_lists(cuda):
    t = minitl.tensor([1.0, 2.0, 3.0], device=cuda)
    for other in (numpy.array([1.0, 0.0, 3.0]), [1.0, 0.0, 3.0], minitl.tensor([1.0, 0.0, 3.0], device=cuda)):
        result = t == other
        assert result.device == "cuda" and result.numpy().tolist() == [True, False, True]


def test_backward_with_a_host_gradient_for_a_gpu_output(cuda):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=cuda)
    (x * 3).backward(minitl.tensor([1.0, 1.0], device="cpu"))
    assert x.grad.device == "cuda"
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_mixed_devices_raise_one_clear_error(standin):
    layer = nn.Linear(2, 2)  # on the CPU
    x = minitl.tensor(numpy.ones((1, 2)), device="cuda")  # the batch on the (stand-in) GPU
    # the check looks at devices before any array math runs
    with pytest.raises(backend.DeviceError, match="different devices.*DataLoader"):
        layer(x)


@pytest.mark.parametrize("make", [lambda: reductions.Max(), lambda: reductions.Max(axis=0),
                                  lambda: reductions.Max(smallest=True), lambda: elementwise.Maximum(),
                                  lambda: elementwise.Minimum()])
def test_backward_with_ties_computes_in_float32(make):
    """No float64 intermediate (a bool * 0.5, a division by an int64 count): on a consumer GPU
    float64 runs at a fraction of float32's speed. Checked on the op's own backward output, before
    autograd casts anything."""
    fn = make()
    a = numpy.array([[1.0, 1.0], [2.0, 0.5]], dtype=numpy.float32)
    b = numpy.array([[1.0, 0.0], [2.0, 3.0]], dtype=numpy.float32)
    out = fn.forward(a) if isinstance(fn, reductions.Max) else fn.forward(a, b)
    grads = fn.backward(numpy.ones_like(out))
    for g in grads if isinstance(grads, tuple) else (grads,):
        assert g.dtype == numpy.float32
