"""Pooling: max, average and adaptive average over spatial windows of (N, C, H, W) arrays.

The windows are the strided views of ``conv.py`` (no copy); each backward adds the output gradient
back into the input with ``conv.col2im``, one strided-slice ``+=`` per kernel offset as in the
convolution, so overlapping windows add up correctly and nothing loops over pixels.
Adaptive average pooling is two small matrix products: averaging over a rectangle is averaging
over rows, then over columns.

On the GPU max pooling is one CUDA kernel each way instead (``pool_cuda.py``).

Talks to: ``autograd.py`` (Function), ``conv.py`` (window helpers), ``backend.py`` (array module).
"""
from ..autograd import Function
from ..backend import get_array_module, has_cuda_kernels
from .conv import col2im, output_size, pad_hw, pair, window_tap, windows
from .pool_cuda import MaxPool2d as MaxPool2dKernel


def _pool_settings(x, kernel_size, stride, padding, name):
    """Normalise the PyTorch-style arguments and check them; stride defaults to the kernel size."""
    if x.ndim != 4:
        raise ValueError(f"{name} expects an (N, C, H, W) input, got shape {tuple(x.shape)}")
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    if any(output_size(n, k, s, p) < 1 for n, k, s, p in zip(x.shape[2:], kernel, stride, padding)):
        raise ValueError(f"{name}: kernel {kernel} does not fit the input of spatial size {tuple(x.shape[2:])}")
    return dict(kernel=kernel, stride=stride, padding=padding)


class MaxPool2d(Function):
    # y = max over each window ;  dy/dx = 1 at the window's first maximum, 0 elsewhere
    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        xp = get_array_module(x)
        (kh, kw), no_dilation = self.kernel, (1, 1)
        lowest = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min  # integers have no -inf
        padded = pad_hw(x, self.padding, lowest)
        out_hw = tuple(output_size(n, k, s, p) for n, k, s, p in zip(x.shape[2:], self.kernel, self.stride,
                                                                       self.padding))
        want_grad = self.needs_input_grad[0]
        if want_grad and self.kernel == self.stride and self.padding == (0, 0):
            # the windows tile the image: one copy gathers tap t = i*kw + j of every window into its own
            # contiguous (N, C, OH, OW) block, so the four passes a tap below run on contiguous data (on
            # strided taps, every kw-th value, they cost ~1.5x the copy and the contiguous passes together;
            # without a gradient, one maximum a tap, the copy does not pay)
            (n, c), (oh, ow) = x.shape[:2], out_hw
            tiles = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
            taps = xp.ascontiguousarray(tiles.transpose(3, 5, 0, 1, 2, 4)).reshape(kh * kw, n, c, oh, ow)
        else:  # tap t = i*kw + j: the (N, C, OH, OW) strided view of the pixel each window holds at (i, j)
            taps = [padded[window_tap(t // kw, t % kw, out_hw, self.stride, no_dilation)] for t in range(kh * kw)]
        best = taps[0]
        if want_grad:  # flat index of the first maximum of each window (int8: kernels up to 11x11)
            self.winner = xp.zeros(best.shape, dtype=xp.int8 if kh * kw <= 127 else xp.int32)
            better, rank = xp.empty(best.shape, dtype=bool), xp.empty(best.shape, dtype=self.winner.dtype)
        for tap in range(1, kh * kw):
            candidate = taps[tap]
            if want_grad:  # strict >: on a tie the first maximum keeps the gradient, as PyTorch
                xp.greater(candidate, best, out=better)
                # taps come in order, so the winner is the largest tap that beat the running best
                xp.maximum(self.winner, xp.multiply(better, tap, out=rank), out=self.winner)
            best = xp.maximum(best, candidate)
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return xp.ascontiguousarray(best)  # a copy only for a 1x1 kernel (best is then a view of x)

    def backward(self, grad):
        xp = get_array_module(grad)
        (kh, kw), tap_grad = self.kernel, lambda i, j: grad * (self.winner == i * kw + j)
        if self.kernel != self.stride or self.padding != (0, 0):  # overlapping or padded windows add up
            return col2im(tap_grad, grad, self.x_shape, self.x_dtype, self.kernel, self.stride, self.padding,
                          (1, 1))
        # kernel == stride: the windows tile the image, so each input pixel is written once, by its own tap
        # (zeros first only where pixels past the last whole window, when kh does not divide H, get no gradient)
        tiled = (kh * grad.shape[2], kw * grad.shape[3]) == tuple(self.x_shape[2:])
        gx = (xp.empty if tiled else xp.zeros)(self.x_shape, dtype=self.x_dtype)
        for tap in range(kh * kw):
            i, j = divmod(tap, kw)
            xp.multiply(grad, self.winner == tap, out=gx[window_tap(i, j, grad.shape[2:], self.stride, (1, 1))])
        return gx


class AvgPool2d(Function):
    # y = (1/(kh kw)) sum over each window ;  dy/dx = 1/(kh kw) for every pixel of every window holding x
    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        view = windows(pad_hw(x, self.padding), self.kernel, self.stride, (1, 1))
        self.x_shape, self.x_dtype = x.shape, x.dtype
        # padded zeros count in the divisor: PyTorch's default count_include_pad=True
        return view.mean(axis=(4, 5))

    def backward(self, grad):
        (kh, kw) = self.kernel
        share = grad / (kh * kw)
        return col2im(lambda i, j: share, grad, self.x_shape, self.x_dtype, self.kernel, self.stride,
                      self.padding, (1, 1))


def _averaging_matrix(xp, size, out, dtype):
    """(out, size) matrix whose row i averages input cells floor(i size/out) .. ceil((i+1) size/out) - 1."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)  # ceil division
    cells = xp.arange(size)
    inside = (cells[None, :] >= start[:, None]) & (cells[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Function):
    # Y = A_h X A_w^T  (A: averaging matrices) ;  dL/dX = A_h^T G A_w   (G = dL/dY)
    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = get_array_module(x)
        (oh, ow), (h, w) = self.output_size, x.shape[2:]
        self.x_shape = x.shape
        if (oh, ow) == (1, 1):  # global pooling: A_h, A_w are rows of 1/H, 1/W, so Y is the plane's mean
            return x.mean(axis=(2, 3), keepdims=True)  # one reduction, not 2 * N * C tiny products
        self.rows = _averaging_matrix(xp, h, oh, x.dtype)  # (OH, H)
        self.cols = _averaging_matrix(xp, w, ow, x.dtype)  # (OW, W)
        return self.rows @ x @ self.cols.T

    def backward(self, grad):
        if self.output_size == (1, 1):  # dX = grad / (H W) at every pixel of the plane
            gx = get_array_module(grad).empty(self.x_shape, dtype=grad.dtype)
            gx[...] = grad / (self.x_shape[2] * self.x_shape[3])
            return gx
        return self.rows.T @ grad @ self.cols


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Largest value of each kh x kw window. x: (N, C, H, W) -> (N, C, OH, OW).

    Padding counts as -inf, so it never wins. Notice that the gradient goes to one input per window
    (the first maximum on ties): every other input of the window gets zero.
    """
    settings = _pool_settings(x, kernel_size, stride, padding, "max_pool2d")
    if has_cuda_kernels(get_array_module(getattr(x, "data", x))):  # one kernel each way (pool_cuda.py)
        return MaxPool2dKernel.apply(x, **settings)
    return MaxPool2d.apply(x, **settings)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean of each kh x kw window. x: (N, C, H, W) -> (N, C, OH, OW).

    Padding counts as zeros in the mean (PyTorch's count_include_pad=True): windows at the border
    give smaller values. Notice the backward spreads each gradient evenly over its window.
    """
    return AvgPool2d.apply(x, **_pool_settings(x, kernel_size, stride, padding, "avg_pool2d"))


def adaptive_avg_pool2d(x, output_size):
    """Average into a fixed (OH, OW) grid whatever the input size. x: (N, C, H, W) -> (N, C, OH, OW).

    Cell i along an axis averages inputs floor(i H / OH) .. ceil((i + 1) H / OH) - 1, as PyTorch;
    cells may overlap when OH does not divide H. ``output_size=1`` is global average pooling, the
    layer in front of most classifier heads. ``None`` in ``output_size`` keeps that input size.
    """
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expects an (N, C, H, W) input, got shape {tuple(x.shape)}")
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size, output_size)
    size = tuple(x.shape[2 + axis] if s is None else int(s) for axis, s in enumerate(output_size))
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive ints, got {output_size!r}")
    return AdaptiveAvgPool2d.apply(x, output_size=size)
