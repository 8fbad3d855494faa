"""The GPU im2col / col2im kernels (conv_cuda.py), against the NumPy code, on every device that runs them.

On the stand-in the kernel text runs in a C loop over ``i`` (every CI run: the index math -- strides,
padding, dilation, groups, the gather's divisibility test -- and the float16 bodies); on a machine with a GPU
the same tests run again on real CuPy (the ``kernel_device`` fixture). Skipped where neither runs.
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
def kernels(kernel_device):
    return kernel_device


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


@pytest.mark.parametrize("stride, padding, dilation", [(1, 1, 1), (2, 0, 2), ((2, 1), (1, 2), 1)])
def test_float16_kernels_match_the_numpy_code(kernels, stride, padding, dilation, rng):
    x = rng.standard_normal((2, 3, 7, 6)).astype(numpy.float16)
    kernel = (3, 2)
    stride, padding, dilation = conv.pair(stride, "s"), conv.pair(padding, "p"), conv.pair(dilation, "d")
    out_hw = tuple(conv.output_size(*a) for a in zip(x.shape[2:], kernel, stride, padding, dilation))
    columns = conv_cuda.im2col(kernels.asarray(x), kernel, stride, padding, dilation, 1, out_hw)
    assert columns.dtype == numpy.float16
    expected, _ = conv.im2col(x, kernel, stride, padding, dilation, 1)
    numpy.testing.assert_array_equal(columns.get(), expected)  # a copy: exact in any precision

    d_cols = rng.standard_normal((2, 3, *kernel, *out_hw)).astype(numpy.float16)
    gx = conv_cuda.col2im(kernels.asarray(d_cols), x.shape, numpy.float16, kernel, stride, padding, dilation)
    assert gx.dtype == numpy.float16
    in_float64 = conv.col2im(lambda i, j: d_cols[:, :, i, j].astype(numpy.float64), numpy.zeros((2, 3, *out_hw)),
                             x.shape, numpy.float64, kernel, stride, padding, dilation)
    # each pixel sums at most 3 taps of numbers below 5 in magnitude, rounded to half at every add: 1e-2
    numpy.testing.assert_allclose(gx.get().astype(numpy.float64), in_float64, rtol=0, atol=1e-2)
    assert numpy.abs(in_float64).max() > 1  # the test compares real sums, not zeros


def test_kernels_can_be_switched_off(kernels, monkeypatch):
    monkeypatch.setenv("MINITL_CUDA_KERNELS", "0")
    assert not minitl.cuda.has_cuda_kernels(kernels)
    assert not minitl.cuda.has_cuda_kernels(numpy)
