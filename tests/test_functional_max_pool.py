"""max_pool2d with dilation, ceil_mode and return_indices: gradcheck, PyTorch parity (values, indices, gradients)."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.core.ops.pool import max_pool2d
from parity import assert_matches_torch, t64, torch_or_skip

# (kernel, stride, padding, dilation, ceil_mode, H, W)
CASES = {
    "ceil_partial_window": (3, 2, 1, 1, True, 7, 8),
    "dilated": (2, 2, 0, 2, False, 9, 6),
    "dilated_ceil": (3, 2, 1, 2, True, 10, 11),
    "ceil_window_dropped": (3, 3, 1, 1, True, 8, 8),  # the last window would start in the right padding
    "rectangular": ((2, 3), (1, 2), (1, 1), (1, 2), True, 5, 9),
}


@pytest.mark.parametrize("name", CASES)
def test_max_pool2d_options_gradcheck_and_match_torch(name, device, rng):
    torch = torch_or_skip()
    kernel, stride, padding, dilation, ceil_mode, h, w = CASES[name]
    x = rng.permutation(2 * 3 * h * w).reshape(2, 3, h, w) / 10.0  # distinct values: no ties
    settings = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    assert minitl.gradcheck(lambda x: max_pool2d(x, kernel, **settings), [t64(x, device)])
    assert_matches_torch(lambda x: max_pool2d(x, kernel, **settings),
                         lambda x: torch.nn.functional.max_pool2d(x, kernel, **settings), [x], device)
    out, indices = max_pool2d(minitl.tensor(x, device=device), kernel, return_indices=True, **settings)
    t_out, t_indices = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, return_indices=True, **settings)
    assert indices.dtype == numpy.int64 and not indices.requires_grad
    numpy.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


def test_return_indices_point_at_the_maxima(device, rng):
    x = minitl.tensor(rng.standard_normal((2, 3, 6, 6)), device=device)
    out, indices = max_pool2d(x, 2, return_indices=True)
    flat = x.numpy().reshape(2, 3, -1)
    numpy.testing.assert_array_equal(numpy.take_along_axis(flat, indices.numpy().reshape(2, 3, -1), 2),
                                     out.numpy().reshape(2, 3, -1))


def test_ceil_mode_on_integers_pads_with_the_lowest_value_not_inf():
    x = minitl.tensor(numpy.arange(-20, 5, dtype=numpy.int32).reshape(1, 1, 5, 5))
    out = max_pool2d(x, 3, 2, 1, ceil_mode=True)
    assert out.dtype == numpy.int32
    assert out.numpy().tolist() == [[[[-14, -12, -11], [-4, -2, -1], [1, 3, 4]]]]


def test_max_pool_layer_takes_pytorch_arguments(device, rng):
    torch = torch_or_skip()
    x = rng.standard_normal((1, 2, 7, 7)).astype(numpy.float32)
    ours = nn.MaxPool2d(3, stride=2, padding=1, dilation=1, return_indices=True, ceil_mode=True)
    out, indices = ours(minitl.tensor(x, device=device))
    t_out, t_indices = torch.nn.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True)(torch.tensor(x))
    numpy.testing.assert_allclose(out.numpy(), t_out.numpy())
    numpy.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 1), (2, 2, 0)])  # overlapping and tiled windows
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_a_nan_in_a_window_is_its_maximum_and_takes_its_gradient_as_in_torch(kernel, stride, padding, path, device,
                                                                               monkeypatch):
    """A NaN input is not silently dropped: its window's output is NaN and the window's gradient goes to it, in the
    reference op and in its fast twins, with and without a gradient (PyTorch's behaviour)."""
    torch = torch_or_skip()
    from minitl.core import seams  # noqa: PLC0415
    from minitl.core.ops import pool  # noqa: PLC0415

    if path == "reference":
        monkeypatch.setitem(seams.fast_paths, pool.MaxPool2d, pool.MaxPool2d)
    x = numpy.arange(2 * 2 * 6 * 6, dtype=numpy.float32).reshape(2, 2, 6, 6)
    x[0, 0, 0, 0] = x[1, 1, 3, 3] = x[1, 0, 4, 5] = numpy.nan  # first tap, a middle tap, a last row
    x[0, 1, 2, 2] = x[0, 1, 3, 3] = numpy.nan  # two NaNs in one window: PyTorch's gradient goes to the later one
    settings = dict(stride=stride, padding=padding)
    expected = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(expected, kernel, **settings).sum().backward()
    with minitl.no_grad():
        values = max_pool2d(minitl.tensor(x, device=device), kernel, **settings).numpy()
    t = minitl.tensor(x, device=device, requires_grad=True)
    out = max_pool2d(t, kernel, **settings)
    out.sum().backward()
    want = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, **settings).numpy()
    numpy.testing.assert_array_equal(values, want)  # NaN where PyTorch has NaN
    numpy.testing.assert_array_equal(out.numpy(), want)
    numpy.testing.assert_array_equal(t.grad.numpy(), expected.grad.numpy())
