"""Pooling: gradients (float64 finite differences), PyTorch parity (float32), ties in max pooling."""
import numpy
import pytest

import minitl
from minitl.core.ops.pool import adaptive_avg_pool2d, max_pool2d
from minitl.functional.avg_pool import avg_pool2d
from parity import assert_matches_torch, torch_or_skip

WINDOWS = {  # kernel_size, stride, padding
    "non_overlapping": dict(kernel_size=2),
    "overlapping": dict(kernel_size=3, stride=1, padding=1),
    "overlapping_stride2": dict(kernel_size=3, stride=2, padding=1),
    "rect_pairs": dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
}
ADAPTIVE_SIZES = [1, (2, 3), (3, 2), (4, 5), (6, 7)]  # on a 6x6 input: global, dividing, uneven, upsampling


def _x(rng, shape, dtype, device):
    return minitl.tensor(rng.standard_normal(shape), requires_grad=True, dtype=dtype, device=device)


def _compare(ours_fn, torch_fn, x_array, device, rng, **kw):
    """Forward and backward of one op in minitl and torch on the same float32 data."""
    assert_matches_torch(lambda x: ours_fn(x, **kw), lambda t: torch_fn(t, **kw), [x_array], device, rng=rng)


@pytest.mark.parametrize("op", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("window", WINDOWS)
def test_pool_gradcheck(op, window, device, rng):
    x = _x(rng, (2, 2, 5, 6), "float64", device)  # random normals: no ties, max pooling is differentiable
    assert minitl.gradcheck(lambda x: op(x, **WINDOWS[window]), [x])


@pytest.mark.parametrize("op", [max_pool2d, avg_pool2d])
def test_pool_gradcheck_non_contiguous_input(op, device, rng):
    x = _x(rng, (2, 2, 6, 5), "float64", device)
    assert minitl.gradcheck(lambda x: op(x.permute(0, 1, 3, 2), kernel_size=3, stride=2, padding=1), [x])


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_avg_pool_gradcheck(size, device, rng):
    x = _x(rng, (2, 2, 6, 6), "float64", device)
    assert minitl.gradcheck(lambda x: adaptive_avg_pool2d(x, size), [x])


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("window", WINDOWS)
def test_pool_matches_torch(name, window, device, rng):
    torch = torch_or_skip()
    ours = {"max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d}[name]
    _compare(ours, getattr(torch.nn.functional, name), rng.standard_normal((2, 3, 7, 8)), device, rng,
             **WINDOWS[window])


@pytest.mark.parametrize("size", ADAPTIVE_SIZES + [(None, 2)])
def test_adaptive_avg_pool_matches_torch(size, device, rng):
    torch = torch_or_skip()
    _compare(adaptive_avg_pool2d, torch.nn.functional.adaptive_avg_pool2d, rng.standard_normal((2, 3, 6, 6)), device,
             rng, output_size=size)


@pytest.mark.parametrize("window", WINDOWS)
def test_max_pool_ties_send_the_gradient_to_the_first_maximum_like_torch(window, device, rng):
    # finite differences are undefined at ties, so compare with torch: one element per window gets it
    torch = torch_or_skip()
    integers = rng.integers(-1, 2, size=(2, 2, 6, 6)).astype(numpy.float64)  # many equal values
    _compare(max_pool2d, torch.nn.functional.max_pool2d, integers, device, rng, **WINDOWS[window])


def test_max_pool_all_equal_window_gives_gradient_to_its_first_element(device):
    x = minitl.tensor(numpy.ones((1, 1, 2, 2)), requires_grad=True, device=device)
    max_pool2d(x, 2).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])


def test_max_pool_padding_never_wins(device):
    x = minitl.tensor(-numpy.ones((1, 1, 3, 3)), requires_grad=True, device=device)
    y = max_pool2d(x, 3, stride=1, padding=1)
    numpy.testing.assert_array_equal(y.numpy(), -numpy.ones((1, 1, 3, 3)))


def test_avg_pool_counts_padding_in_the_divisor(device):
    x = minitl.tensor(numpy.ones((1, 1, 2, 2)), device=device)
    y = avg_pool2d(x, 2, stride=1, padding=1)  # the corner window holds one 1 and three padded zeros
    assert y.numpy()[0, 0, 0, 0] == pytest.approx(0.25)


def test_global_average_pool_is_the_mean(device, rng):
    x = minitl.tensor(rng.standard_normal((2, 3, 5, 4)), device=device)
    numpy.testing.assert_allclose(adaptive_avg_pool2d(x, 1).numpy()[..., 0, 0], x.numpy().mean(axis=(2, 3)),
                                  rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, words", [
    (lambda x: max_pool2d(x, 2, padding=2), "at most half"),
    (lambda x: avg_pool2d(x, 5), "does not fit"),
    (lambda x: max_pool2d(x.reshape(4, 4), 2), "(N, C, H, W)"),
    (lambda x: adaptive_avg_pool2d(x, 0), "positive"),
])
def test_pool_bad_settings_say_what_is_wrong(call, words):
    x = minitl.tensor(numpy.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(x)


def test_max_pool2d_padding_on_integer_tensor_pads_with_the_lowest_value():
    torch = torch_or_skip()
    data = -numpy.arange(16, dtype=numpy.int64).reshape(1, 1, 4, 4)  # all <= 0: a 0 pad would win
    out = max_pool2d(minitl.tensor(data), 3, stride=2, padding=1)
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(data).double(), 3, stride=2, padding=1)
    assert out.dtype == numpy.int64
    numpy.testing.assert_array_equal(out.numpy(), expected.numpy().astype(numpy.int64))
