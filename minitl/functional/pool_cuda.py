"""Max pooling as two CUDA kernels (CuPy ``ElementwiseKernel``): the GPU twin of pool.py's MaxPool2d.

The NumPy code walks the kh*kw taps in Python, one array pass each, and its backward is one more pass
per tap (col2im). Here the forward is one thread per output pixel scanning its window (the first
maximum wins, as in PyTorch; padding never wins; a NaN wins over every number, as on the CPU and in
PyTorch, so the training loop's NaN check sees it), writing the maximum and which tap held it; the
backward is one thread per input pixel *gathering* the gradient of every window whose winner it was:
one pass each way, deterministic (no atomics). Index math as in conv_cuda.py.

Used by pool.py only when ``backend.has_cuda_kernels(xp)``. Talks to: ``autograd.py``, ``conv_cuda.py``.
"""
import numpy

from ..autograd import Function
from ..backend import get_array_module
from .conv import output_size
from .conv_cuda import GEOMETRY, elementwise_kernel, geometry

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
    T total = (T)0;
    for (long long ki = 0; ki < kernel_h; ++ki) {
        long long oh_s = ih + pad_h - ki * dilation_h;
        if (oh_s < 0 || oh_s % stride_h != 0 || oh_s / stride_h >= out_h) continue;
        for (long long kj = 0; kj < kernel_w; ++kj) {
            long long ow_s = iw + pad_w - kj * dilation_w;
            if (ow_s < 0 || ow_s % stride_w != 0 || ow_s / stride_w >= out_w) continue;
            long long o = (row * out_h + oh_s / stride_h) * out_w + ow_s / stride_w;
            if (winner[o] == ki * kernel_w + kj) total += grad[o];
        }
    }
    gx = total;
"""


class MaxPool2d(Function):
    # y = max over each window ;  dy/dx = 1 at the window's first maximum, 0 elsewhere (as pool.MaxPool2d,
    # whose name it shares so that a recorded graph reads the same on both devices)

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        self.out_hw = tuple(output_size(*args) for args in zip((h, w), self.kernel, self.stride, self.padding))
        y = xp.empty((n, c, *self.out_hw), dtype=x.dtype)
        self.winner = xp.empty(y.shape, dtype=numpy.int32)
        elementwise_kernel(xp, "max_pool2d", f"raw T x, {GEOMETRY}", "T y, int32 winner", _FORWARD)(
            xp.ascontiguousarray(x), *self._geometry(x.shape), y, self.winner)
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return y

    def backward(self, grad):
        xp = get_array_module(grad)
        gx = xp.empty(self.x_shape, dtype=self.x_dtype)
        elementwise_kernel(xp, "max_pool2d_backward", f"raw T grad, raw int32 winner, {GEOMETRY}", "T gx",
                           _BACKWARD)(xp.ascontiguousarray(grad.astype(self.x_dtype, copy=False)), self.winner,
                                      *self._geometry(self.x_shape), gx)
        return gx

    def _geometry(self, x_shape):
        return geometry(x_shape, self.out_hw, self.kernel, self.stride, self.padding, (1, 1))
