"""The Tensor wrapper: dtypes, conversion, repr, detach, ``.to`` and the operator methods."""
import numpy
import pytest

import minitl
from minitl.core.tensor import Tensor, as_tensor

# ----- dtypes -----

@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], numpy.zeros(3, dtype=numpy.float64), numpy.zeros(2, numpy.float16)])
def test_floating_data_becomes_float32_by_default(data, device):
    assert minitl.tensor(data, device=device).dtype == numpy.float32


def test_float64_is_kept_when_asked():
    assert minitl.tensor([1.0], dtype="float64").dtype == numpy.float64
    assert minitl.tensor([1.0], dtype=minitl.float64).dtype == numpy.float64


@pytest.mark.parametrize("data", [3, [1, 2, 3], numpy.arange(3)])
def test_int_data_stays_int64(data, device):
    assert minitl.tensor(data, device=device).dtype == numpy.int64


def test_bool_data_stays_bool():
    assert minitl.tensor([True, False]).dtype == numpy.bool_


@pytest.mark.parametrize("make", [
    lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: x + 1, lambda x: 1.5 - x, lambda x: x / 3.0,
    lambda x: 3.0 / x, lambda x: x ** 2.0, lambda x: 2.0 ** x, lambda x: x * numpy.float64(2.0),
    lambda x: minitl.maximum(x, 0.5), lambda x: minitl.where(x > 1.0, x, 0.0), lambda x: x * True,
])
def test_python_scalars_do_not_promote_float32(make, device):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = make(x)
    assert y.dtype == numpy.float32
    y.sum().backward()
    assert x.grad.dtype == numpy.float32


@pytest.mark.parametrize("make", [lambda x: x * 2, lambda x: x + 1, lambda x: 3 - x, lambda x: x * x])
def test_int_arithmetic_with_ints_stays_int64(make, device):
    assert make(minitl.tensor([1, 2], device=device)).dtype == numpy.int64


def test_float64_stays_float64_with_python_scalar():
    x = minitl.tensor([1.0], dtype="float64")
    assert (x * 2.0 + 1).dtype == numpy.float64


def test_requires_grad_on_int_tensor_raises():
    with pytest.raises(TypeError, match="floating"):
        minitl.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        minitl.tensor([1, 2]).requires_grad_()


# ----- conversion -----

def test_tensor_copies_its_input():
    source = numpy.zeros(3, dtype=numpy.float32)
    t = minitl.tensor(source)
    source[0] = 5.0
    assert t.numpy()[0] == 0.0


def test_numpy_returns_a_numpy_array(device):
    t = minitl.tensor([[1.0, 2.0]], device=device)
    out = t.numpy()
    assert isinstance(out, numpy.ndarray)
    numpy.testing.assert_array_equal(out, [[1.0, 2.0]])


def test_item_and_scalar_conversions(device):
    t = minitl.tensor([[2.5]], device=device)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert float(t) == 2.5
    assert int(minitl.tensor(7, device=device)) == 7
    assert isinstance(minitl.tensor(7).item(), int)
    with pytest.raises(ValueError, match="one-element"):
        minitl.tensor([1.0, 2.0], device=device).item()


def test_bool_of_one_element_and_of_many():
    assert bool(minitl.tensor([1.0]))
    assert not bool(minitl.tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(minitl.tensor([1.0, 2.0]))


def test_size_is_a_method_like_torch_and_numel_counts(device):
    t = minitl.tensor(numpy.zeros((2, 3)), device=device)
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(dim=-1) == 3 and t.numel() == 6


def test_numpy_asarray_uses_array_protocol(device):
    t = minitl.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    array = numpy.asarray(t)
    assert type(array) is numpy.ndarray and array.dtype == numpy.float32 and array.shape == (2, 2)
    assert numpy.asarray(t, dtype=numpy.float64).dtype == numpy.float64
    assert numpy.asarray(minitl.tensor(2.0)).dtype == numpy.float32
    copied = numpy.array(t, copy=True)
    copied[0, 0] = 7.0
    assert t.numpy()[0, 0] == 1.0


def test_small_crashes_of_scalars_and_none(device):
    scalar = minitl.tensor(3.0, device=device)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(scalar)
    assert scalar.flatten().shape == (1,)
    with pytest.raises(TypeError, match="unsqueeze\\(\\) needs dim"):
        minitl.tensor([1.0]).unsqueeze()
    t = minitl.tensor([1.0, 2.0], device=device)
    assert (t == None) is False and (t != None) is True  # noqa: E711 - the comparison under test


def test_basic_properties(device):
    t = minitl.tensor(numpy.zeros((2, 3, 4)), device=device)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4 and t.numel() == 24 and len(t) == 2
    assert t.device == device
    assert t.tolist() == numpy.zeros((2, 3, 4)).tolist()


def test_detach_shares_data_and_leaves_the_graph(device):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2.0
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert d.data is y.data
    with pytest.raises(RuntimeError):
        (d * 3.0).sum().backward()


def test_clone_copies_data_and_passes_gradient(device):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=device)
    c = x.clone()
    assert c.data is not x.data and c.grad_fn is not None
    (c * 3.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_to_dtype_keeps_gradient_flowing(device):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x.to(dtype="float64")
    assert y.dtype == numpy.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_double_and_float_round_trip_gradient():
    x = minitl.tensor([3.0], requires_grad=True)
    y = x.double().float()
    assert y.dtype == numpy.float32
    (y * 2.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_to_same_dtype_and_device_returns_self(device):
    x = minitl.tensor([1.0], device=device)
    assert x.to(dtype="float32") is x
    assert x.to(device) is x


def test_to_cpu_and_long():
    x = minitl.tensor([1.7, -2.2])
    assert x.cpu() is x
    long = x.long()
    assert long.dtype == numpy.int64
    numpy.testing.assert_array_equal(long.numpy(), [1, -2])


def test_to_unknown_device_raises():
    from minitl.core.backend import DeviceError
    with pytest.raises(DeviceError, match="unknown device"):
        minitl.tensor([1.0]).to("tpu")


# ----- repr -----

def test_repr_shows_shape_dtype_and_grad_fn():
    x = minitl.tensor([[1.0, 2.0]], requires_grad=True)
    y = x * 2.0
    text = repr(y)
    assert "shape=(1, 2)" in text and "dtype=float32" in text and "grad_fn=MulBackward" in text
    assert "requires_grad=True" in repr(x)
    plain = repr(minitl.tensor([1, 2]))
    assert "dtype=int64" in plain and "grad_fn" not in plain and "device=cpu" in plain


# ----- comparisons and operators -----

def test_comparisons_give_bool_tensors_without_grad(device):
    x = minitl.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    for mask, expected in [(x > 2.0, [0, 0, 1]), (x >= 2.0, [0, 1, 1]), (x < 2.0, [1, 0, 0]),
                           (x <= 2.0, [1, 1, 0]), (x == 2.0, [0, 1, 0]), (x != 2.0, [1, 0, 1])]:
        assert mask.dtype == numpy.bool_ and not mask.requires_grad
        numpy.testing.assert_array_equal(mask.numpy(), numpy.array(expected, dtype=bool))
    numpy.testing.assert_array_equal((x == minitl.tensor([1.0, 0.0, 3.0], device=device)).numpy(), [True, False, True])


def test_tensors_hash_by_identity():
    a, b = minitl.tensor([1.0]), minitl.tensor([1.0])
    assert len({a, b}) == 2


def test_numpy_array_on_the_left_defers_to_tensor():
    x = minitl.tensor([1.0, 2.0], requires_grad=True)
    y = numpy.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor) and y.dtype == numpy.float32
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    z = numpy.array([1.0, 1.0]) - x
    numpy.testing.assert_allclose(z.numpy(), [0.0, -1.0])


def test_operator_methods_match_numpy(rng):
    a = rng.standard_normal((3, 4)).astype(numpy.float32)
    b = rng.uniform(0.5, 2.0, (3, 4)).astype(numpy.float32)
    x, y = minitl.tensor(a), minitl.tensor(b)
    cases = [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (y ** x, b ** a), (-x, -a),
             (x @ y.T, a @ b.T), (x.T, a.T), (x.exp(), numpy.exp(a)), (y.log(), numpy.log(b)),
             (y.sqrt(), numpy.sqrt(b)), (x.abs(), numpy.abs(a)), (x.clip(-0.5, 0.5), numpy.clip(a, -0.5, 0.5)),
             (x.clamp(min=0.0), numpy.maximum(a, 0)), (x.maximum(y), numpy.maximum(a, b)),
             (x.minimum(y), numpy.minimum(a, b)), (x.relu(), numpy.maximum(a, 0)),
             (x.tanh(), numpy.tanh(a)), (x.sum(1), a.sum(1)), (x.mean(0, keepdims=True), a.mean(0, keepdims=True)),
             (x.max(), a.max()), (x.amin(1), a.min(1)), (x.var(1, correction=0), a.var(1)),
             (x.reshape(4, 3), a.reshape(4, 3)), (x.view(-1), a.reshape(-1)), (x.flatten(), a.reshape(-1)),
             (x.permute(1, 0), a.T), (x.transpose(0, 1), a.T), (x.unsqueeze(1), a[:, None]),
             (x.unsqueeze(1).squeeze(), a), (x[None].expand(2, 3, 4), numpy.broadcast_to(a, (2, 3, 4))),
             (x[1:, ::2], a[1:, ::2]), (x.sigmoid(), 1 / (1 + numpy.exp(-a)))]
    for got, expected in cases:
        numpy.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_array_equal(x.argmax(1).numpy(), a.argmax(1))
    numpy.testing.assert_allclose(x.softmax().sum(-1).numpy(), numpy.ones(3), rtol=1e-6)
    numpy.testing.assert_allclose(x.log_softmax(0).exp().sum(0).numpy(), numpy.ones(4), rtol=1e-6)
    first, second = x.split(2, axis=1)
    numpy.testing.assert_allclose(second.numpy(), a[:, 2:])


def test_as_tensor_takes_dtype_and_device_of_like():
    like = minitl.tensor([1.0], dtype="float64")
    assert as_tensor(2, like=like).dtype == numpy.float64
    assert as_tensor(2.0, like=minitl.tensor([1])).dtype == numpy.float32
    assert as_tensor(2, like=minitl.tensor([1])).dtype == numpy.int64
    existing = minitl.tensor([1.0])
    assert as_tensor(existing) is existing


def test_pytorch_and_numpy_axis_names_are_both_accepted():
    x = minitl.tensor(numpy.arange(24.0).reshape(2, 3, 4))
    numpy.testing.assert_array_equal(x.sum(dim=1, keepdim=True).numpy(), x.sum(axis=1, keepdims=True).numpy())
    assert x.mean(dim=(0, 2)).shape == (3,) and x.amax(1).shape == (2, 4)
    assert x.softmax(dim=0).shape == x.softmax(axis=0).shape == (2, 3, 4)
    assert minitl.cat([x, x], dim=2).shape == (2, 3, 8) and minitl.stack([x, x], dim=1).shape == (2, 2, 3, 4)
    assert x.unsqueeze(dim=0).shape == (1, 2, 3, 4) and x.unsqueeze(0).squeeze(dim=0).shape == (2, 3, 4)
    assert [p.shape for p in x.split(2, dim=2)] == [(2, 3, 2), (2, 3, 2)]
    assert x.argmax(dim=2).shape == (2, 3)
    with pytest.raises(TypeError, match="not both"):
        x.sum(dim=0, axis=1)


# ----- issue 13: the Python protocol a PyTorch user relies on -----

def test_format_spec_on_a_0d_tensor():
    loss = minitl.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{minitl.tensor(7):>3d}" == "  7"
    assert f"{minitl.ones(2)}" == str(minitl.ones(2))
    with pytest.raises(TypeError, match="0-d"):
        f"{minitl.ones(2):.2f}"


def test_index_int_float_on_0d_tensors():
    classes = ["cat", "dog", "bird"]
    pred = minitl.tensor([[0.1, 0.7, 0.2]]).argmax()
    assert classes[pred] == "dog" and list(range(10))[minitl.tensor(3)] == 3
    assert int(minitl.tensor(2.7)) == 2 and float(minitl.tensor(2)) == 2.0
    with pytest.raises(TypeError, match="integer tensors"):
        classes[minitl.tensor(1.0)]
    with pytest.raises(TypeError, match="one-element"):
        classes[minitl.tensor([0, 1])]


def test_tolist_matches_torch():
    torch = pytest.importorskip("torch")
    data = [[1.5, 2.0], [3.0, -4.25]]
    assert minitl.tensor(data).tolist() == torch.tensor(data).tolist()
    assert minitl.tensor(3).tolist() == 3 and isinstance(minitl.tensor(2.5).tolist(), float)
