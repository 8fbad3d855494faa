"""The GPU max-pool kernels (pool_cuda.py) against the NumPy code and PyTorch, on every device that runs them
(the stand-in compiles their bodies as C; a real GPU runs them again: the ``kernel_device`` fixture)."""
import numpy
import pytest

import minitl
from minitl.nn.functional import max_pool2d
from parity import t64


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0)), (3, 1, 1)])
def test_max_pool2d_on_the_kernels_matches_the_numpy_code(kernel_device, kernel, stride, padding, rng):
    x = rng.standard_normal((2, 3, 7, 6))
    x[0, 0, :2, :2] = 1.5  # a tie: the first maximum keeps the gradient on both paths
    upstream = None
    results = []
    for device in ("cpu", "cuda"):
        xt = t64(x, device)
        y = max_pool2d(xt, kernel, stride, padding)
        upstream = rng.standard_normal(y.shape) if upstream is None else upstream
        y.backward(minitl.tensor(upstream, dtype="float64", device=device))
        assert y.grad_fn.name == "MaxPool2dBackward"
        results.append([y.numpy(), xt.grad.numpy()])
    for ours, reference in zip(*results):
        numpy.testing.assert_array_equal(ours, reference)


def _nan_windows():
    """Four 2x2 windows: NaN first, NaN after the maximum ([1, NaN; 3, 2] -- the issue's case), two NaNs, none."""
    x = numpy.array([[1.0, 5.0, 1.0, 3.0],
                     [0.0, 2.0, numpy.nan, 2.0],
                     [numpy.nan, 0.5, 7.0, 8.0],
                     [4.0, numpy.nan, 6.0, 1.0]])
    x[0, 0] = numpy.nan
    return x.reshape(1, 1, 4, 4)


def test_a_nan_in_a_window_is_the_maximum_as_on_the_cpu_and_in_pytorch(kernel_device):
    x = _nan_windows()
    values = {}
    for device in ("cpu", "cuda"):
        values[device] = max_pool2d(t64(x, device), 2).numpy()
    expected = numpy.array([[numpy.nan, numpy.nan], [numpy.nan, 8.0]]).reshape(1, 1, 2, 2)
    numpy.testing.assert_array_equal(values["cpu"], expected)  # assert_array_equal: NaN matches NaN only
    numpy.testing.assert_array_equal(values["cuda"], expected)
    torch = pytest.importorskip("torch")
    numpy.testing.assert_array_equal(torch.nn.functional.max_pool2d(torch.tensor(x), 2).numpy(), expected)


def test_a_nan_window_sends_its_gradient_to_the_nan_as_pytorch(kernel_device):
    torch = pytest.importorskip("torch")
    x = _nan_windows()
    xt = t64(x, "cuda")
    max_pool2d(xt, 2).backward(minitl.tensor(numpy.ones((1, 1, 2, 2)), dtype="float64", device="cuda"))
    twin = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(twin, 2).backward(torch.ones(1, 1, 2, 2, dtype=torch.float64))
    numpy.testing.assert_array_equal(xt.grad.numpy(), twin.grad.numpy())


def test_float16_max_pool_on_the_kernels_matches_the_numpy_code(kernel_device, rng):
    x = rng.standard_normal((2, 3, 7, 6)).astype(numpy.float16)
    upstream = rng.standard_normal((2, 3, 4, 3)).astype(numpy.float16)
    results = []
    for device in ("cpu", "cuda"):
        xt = minitl.tensor(x, dtype="float16", device=device, requires_grad=True)
        y = max_pool2d(xt, 3, 2, 1)
        assert y.dtype == numpy.float16
        y.backward(minitl.tensor(upstream, dtype="float16", device=device))
        results.append([y.numpy(), xt.grad.numpy()])
    numpy.testing.assert_array_equal(results[1][0], results[0][0])  # a maximum is exact in any precision
    # overlapping windows add up to 4 gradients in half precision, in another order than the CPU's col2im
    numpy.testing.assert_allclose(results[1][1].astype(numpy.float64), results[0][1].astype(numpy.float64),
                                  rtol=0, atol=1e-2)
