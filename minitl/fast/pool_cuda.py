"""Max pooling as two CUDA kernels (CuPy ``ElementwiseKernel``): the GPU twin of core/ops/pool.py's MaxPool2d.

The NumPy code walks the kh*kw taps in Python, one array pass each, and its backward is one more pass
per tap (col2im). Here the forward is one thread per output pixel scanning its window (the first
maximum wins, as in PyTorch; padding never wins; a NaN wins over every number and a later NaN over an
earlier one, as on the CPU and in PyTorch's kernels, so the training loop's NaN check sees it), writing
the maximum and which tap held it; the backward is one thread per input pixel *gathering* the gradient
of every window whose winner it was: one pass each way, deterministic (no atomics). Index math as in
conv_cuda.py.

Used by ``fast/pool.py`` only when ``minitl.cuda.has_cuda_kernels(xp)``.
"""
import numpy

from ..core.backend import get_array_module
from .conv_cuda import GEOMETRY, elementwise_kernel, gather_over_windows, geometry

_FORWARD = """
    // i runs over the output (N, C, OH, OW): scan the window of (row = img * channels + c, oh, ow)
    long long ow = i % out_w;  long long t = i / out_w;
    long long oh = t % out_h;  long long row = t / out_h;
    T best = (T)0;
    int arg = -1;
    for (long long ki = 0; ki < kernel_h; ++ki) {
        long long ih = oh * stride_h - pad_h + ki * dilation_h;
        if (ih < 0 || ih >= height) continue;
        for (long long kj = 0; kj < kernel_w; ++kj) {
            long long iw = ow * stride_w - pad_w + kj * dilation_w;
            if (iw < 0 || iw >= width) continue;
            T value = x[(row * height + ih) * width + iw];
            // value != value: a NaN (a comparison with NaN is false, so `value > best` alone would skip it)
            if (arg < 0 || value > best || value != value) { best = value; arg = (int)(ki * kernel_w + kj); }
        }
    }
    y = best;
    winner = arg;
"""

_BACKWARD = """
    // i runs over the input gradient (N, C, H, W): add the gradient of every window this pixel won
    long long iw = i % width;  long long t = i / width;
    long long ih = t % height; long long row = t / height;
    T total = (T)0;""" + gather_over_windows("""long long o = (row * out_h + oh) * out_w + ow;
            if (winner[o] == ki * kernel_w + kj) total += grad[o];""") + """
    gx = total;
"""


def max_pool2d(x, kernel, stride, padding, out_hw):
    """(y, winner): the maximum of each window and which tap held it (the first maximum wins ties)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    y = xp.empty((n, c, *out_hw), dtype=x.dtype)
    winner = xp.empty(y.shape, dtype=numpy.int32)
    elementwise_kernel(xp, "max_pool2d", f"raw T x, {GEOMETRY}", "T y, int32 winner", _FORWARD)(
        xp.ascontiguousarray(x), *geometry(x.shape, out_hw, kernel, stride, padding, (1, 1)), y, winner)
    return y, winner


def max_pool2d_backward(grad, winner, x_shape, x_dtype, kernel, stride, padding, out_hw):
    """The input's gradient: each pixel gathers the gradient of every window whose winner it was."""
    xp = get_array_module(grad)
    gx = xp.empty(x_shape, dtype=x_dtype)
    elementwise_kernel(xp, "max_pool2d_backward", f"raw T grad, raw int32 winner, {GEOMETRY}", "T gx", _BACKWARD)(
        xp.ascontiguousarray(grad.astype(x_dtype, copy=False)), winner,
        *geometry(x_shape, out_hw, kernel, stride, padding, (1, 1)), gx)
    return gx
