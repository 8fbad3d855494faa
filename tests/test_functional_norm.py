"""batch_norm and layer_norm: gradients, PyTorch parity (values, gradients, running statistics)."""
import numpy
import pytest

import minitl
from minitl.core.ops.norm import batch_norm
from minitl.functional.layer_norm import layer_norm
from parity import assert_matches_torch, torch_or_skip

SHAPES = [(5, 3), (4, 3, 5), (3, 3, 4, 2)]  # (N, C), (N, C, L) and (N, C, H, W), three channels


def _inputs(rng, shape, dtype, device):
    """x (shifted and scaled, so normalising matters), weight, bias, running mean, running variance."""
    x = minitl.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True, dtype=dtype, device=device)
    weight = minitl.tensor(rng.standard_normal(3), requires_grad=True, dtype=dtype, device=device)
    bias = minitl.tensor(rng.standard_normal(3), requires_grad=True, dtype=dtype, device=device)
    running_mean = minitl.tensor(rng.standard_normal(3), dtype=dtype, device=device)
    running_var = minitl.tensor(rng.uniform(0.5, 2.0, 3), dtype=dtype, device=device)
    return x, weight, bias, running_mean, running_var


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape, training, device, rng):
    x, weight, bias, mean, var = _inputs(rng, shape, "float64", device)
    assert minitl.gradcheck(lambda x, w, b: batch_norm(x, mean, var, w, b, training=training), [x, weight, bias])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_without_affine_or_running_stats(training, device, rng):
    x, _, _, mean, var = _inputs(rng, (4, 3, 2, 2), "float64", device)
    stats = (None, None) if training else (mean, var)
    assert minitl.gradcheck(lambda x: batch_norm(x, *stats, training=training), [x])


def test_batch_norm_gradcheck_non_contiguous_input(device, rng):
    x, weight, bias, mean, var = _inputs(rng, (3, 3, 4, 2), "float64", device)
    assert minitl.gradcheck(lambda x, w: batch_norm(x.permute(0, 1, 3, 2), mean, var, w, training=True), [x, weight])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch_including_running_statistics(shape, training, device, rng):
    torch = torch_or_skip()
    x, weight, bias, mean, var = _inputs(rng, shape, "float32", device)
    t_x, t_weight, t_bias = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, weight, bias))
    t_mean, t_var = torch.tensor(mean.numpy()), torch.tensor(var.numpy())
    for _ in range(2):  # two steps: the second one starts from already-updated statistics
        x.grad = weight.grad = bias.grad = t_x.grad = t_weight.grad = t_bias.grad = None
        y = batch_norm(x, mean, var, weight, bias, training=training, momentum=0.3)
        grad_y = rng.standard_normal(y.shape).astype(numpy.float32)
        y.backward(minitl.tensor(grad_y, device=device))
        t_y = torch.nn.functional.batch_norm(t_x, t_mean, t_var, t_weight, t_bias, training=training, momentum=0.3)
        t_y.backward(torch.tensor(grad_y))
        pairs = [(y, t_y), (x.grad, t_x.grad), (weight.grad, t_weight.grad), (bias.grad, t_bias.grad),
                 (mean, t_mean), (var, t_var)]
        for ours, theirs in pairs:
            numpy.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert y.dtype == numpy.float32 and mean.dtype == numpy.float32


def test_running_statistics_update_in_place_and_record_nothing(device, rng):
    x, weight, bias, mean, var = _inputs(rng, (8, 3), "float32", device)
    mean_array, var_array = mean.data, var.data
    before = mean.numpy().copy()
    batch_norm(x, mean, var, weight, bias, training=True)
    assert mean.data is mean_array and var.data is var_array  # buffers shared with a module stay shared
    assert not numpy.allclose(mean.numpy(), before)
    assert not mean.requires_grad and mean.grad_fn is None


def test_inference_mode_leaves_running_statistics_alone(device, rng):
    x, weight, bias, mean, var = _inputs(rng, (4, 3, 2, 2), "float32", device)
    before = mean.numpy().copy(), var.numpy().copy()
    batch_norm(x, mean, var, weight, bias, training=False)
    numpy.testing.assert_array_equal(mean.numpy(), before[0])
    numpy.testing.assert_array_equal(var.numpy(), before[1])


def test_batch_norm_training_normalises_each_channel(device, rng):
    x, _, _, _, _ = _inputs(rng, (6, 3, 4, 4), "float64", device)
    y = batch_norm(x, None, None, training=True).numpy()
    numpy.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-7)
    numpy.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)


@pytest.mark.parametrize("call, words", [
    (lambda x: batch_norm(x, None, None, training=False), "needs running_mean"),
    (lambda x: batch_norm(x[:1, :, :1, :1], None, None, training=True), "more than one value"),
    (lambda x: batch_norm(x.reshape(48), None, None, training=True), "channel axis"),
])
def test_batch_norm_bad_calls_say_what_is_wrong(call, words):
    x = minitl.tensor(numpy.ones((2, 3, 4, 2)))
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(x)


@pytest.mark.parametrize("normalized_shape", [4, (3, 4)])
def test_layer_norm_gradcheck(normalized_shape, device, rng):
    shape = (2, 3, 4)
    params = shape[-1:] if isinstance(normalized_shape, int) else normalized_shape
    x = minitl.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True, dtype="float64", device=device)
    weight = minitl.tensor(rng.standard_normal(params), requires_grad=True, dtype="float64", device=device)
    bias = minitl.tensor(rng.standard_normal(params), requires_grad=True, dtype="float64", device=device)
    assert minitl.gradcheck(lambda x, w, b: layer_norm(x, normalized_shape, w, b), [x, weight, bias])


def test_layer_norm_gradcheck_non_contiguous_input(device, rng):
    x = minitl.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True, dtype="float64", device=device)
    assert minitl.gradcheck(lambda x: layer_norm(x.transpose(1, 2), 3), [x])


@pytest.mark.parametrize("normalized_shape, affine", [(5, True), ((4, 5), True), ((4, 5), False)])
def test_layer_norm_matches_torch(normalized_shape, affine, device, rng):
    torch = torch_or_skip()
    shape = (2, 3, 4, 5)
    params = (shape[-1],) if isinstance(normalized_shape, int) else normalized_shape
    arrays = [rng.standard_normal(shape) * 3 - 1] + ([rng.standard_normal(params)] * 2 if affine else [])
    assert_matches_torch(lambda x, *affine: layer_norm(x, normalized_shape, *affine),
                         lambda x, *affine: torch.nn.functional.layer_norm(x, params, *affine), arrays, device, rng=rng)


def test_layer_norm_shape_mismatch_says_so():
    with pytest.raises(ValueError, match="does not end with"):
        layer_norm(minitl.tensor(numpy.ones((2, 3))), 4)


def test_batchnorm1d_layer_on_n_c_l_matches_torch(rng):
    # the layer's expected_ndim is the one place that says which shapes BatchNorm1d takes; the op takes (N, C, *)
    torch = torch_or_skip()
    ours, theirs = minitl.nn.BatchNorm1d(3, momentum=0.2), torch.nn.BatchNorm1d(3, momentum=0.2)
    for _ in range(2):
        array = (rng.standard_normal((4, 3, 5)) * 2 + 1).astype(numpy.float32)
        x, t_x = minitl.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
        y, t_y = ours(x), theirs(t_x)
        grad_y = rng.standard_normal(y.shape).astype(numpy.float32)
        y.backward(minitl.tensor(grad_y))
        t_y.backward(torch.tensor(grad_y))
        for mine, reference in [(y, t_y), (x.grad, t_x.grad), (ours.running_mean, theirs.running_mean),
                                (ours.running_var, theirs.running_var)]:
            numpy.testing.assert_allclose(mine.numpy(), reference.detach().numpy(), rtol=1e-4, atol=1e-5)
    ours.eval(), theirs.eval()
    numpy.testing.assert_allclose(ours(minitl.tensor(array)).numpy(), theirs(torch.tensor(array)).detach().numpy(),
                                  rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="BatchNorm1d expects input with 2 or 3 axes"):
        ours(minitl.tensor(numpy.ones((2, 3, 4, 5))))
