"""The GPU im2col / col2im kernels (conv_cuda.py), run on the stand-in, which compiles their bodies as C.

On a GPU they run as CUDA through CuPy; here the same kernel text runs in a C loop over ``i``, so the
index math (strides, padding, dilation, groups, the gather's divisibility test) is checked against the
NumPy code on every CI run. Skipped where no C compiler is found.
"""
import numpy
import pytest

import minitl
from minitl.core.ops import conv
from minitl.fast import conv_cuda
from parity import t64

CASES = [  # stride, padding, dilation, groups, kernel
    (1, 0, 1, 1, (3, 3)), (2, 1, 1, 1, (3, 3)), (1, 2, 2, 2, (3, 2)), (3, 1, 2, 1, (2, 3)),
    ((2, 1), (0, 2), (1, 2), 4, (3, 2)), (1, 0, 1, 1, (1, 1)), (2, 0, 1, 2, (4, 4)),
]


@pytest.fixture
def kernels(standin):
    if not minitl.backend.has_cuda_kernels(standin):
        pytest.skip("no C compiler for the stand-in's kernels")
    return standin


@pytest.mark.parametrize("stride, padding, dilation, groups, kernel", CASES)
def test_conv2d_on_the_kernels_matches_the_numpy_code(kernels, stride, padding, dilation, groups, kernel, rng):
    x, w, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((8, 4 // groups, *kernel)), rng.standard_normal(8)
    results = []
    for device in ("cpu", "cuda"):
        xt, wt, bt = t64(x, device), t64(w, device), t64(b, device)
        y = conv.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
        (y * y).sum().backward()
        results.append([y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    for ours, reference in zip(*results):
        numpy.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)


def test_col2im_reads_any_strided_view_without_a_copy(kernels, rng):
    shape, kernel, stride, padding, dilation = (2, 3, 7, 6), (3, 3), (2, 1), (1, 1), (1, 1)
    oh, ow = (conv.output_size(s, k, st, p, d) for s, k, st, p, d in zip(shape[2:], kernel, stride, padding, dilation))
    d_cols = rng.standard_normal((3, 3, 3, 2, oh, ow))  # memory in (C, kh, kw, N, OH, OW) order
    view = numpy.transpose(d_cols, (3, 0, 1, 2, 4, 5))  # seen as (N, C, kh, kw, OH, OW)
    grad = numpy.zeros((2, 3, oh, ow))
    expected = conv.col2im(lambda i, j: view[:, :, i, j], grad, shape, numpy.float64, kernel, stride, padding,
                           dilation)
    on_device = kernels.asarray(d_cols).transpose(3, 0, 1, 2, 4, 5)
    ours = conv_cuda.col2im(on_device, shape, numpy.float64, kernel, stride, padding, dilation)
    numpy.testing.assert_allclose(ours.get(), expected, rtol=1e-12)


def test_kernels_can_be_switched_off(kernels, monkeypatch):
    monkeypatch.setenv("MINITL_CUDA_KERNELS", "0")
    assert not minitl.backend.has_cuda_kernels(kernels)
    assert not minitl.backend.has_cuda_kernels(numpy)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0)), (3, 1, 1)])
def test_max_pool2d_on_the_kernels_matches_the_numpy_code(kernels, kernel, stride, padding, rng):
    from minitl.core.ops.pool import max_pool2d  # noqa: PLC0415

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
