"""Pooling: max and adaptive average over spatial windows of (N, C, H, W) arrays (plain average pooling is a wing:
``functional/avg_pool.py``).

The windows are the strided views of ``conv.py`` (no copy); each backward adds the output gradient
back into the input, so overlapping windows add up correctly and nothing loops over pixels.
Adaptive average pooling is two small matrix products: averaging over a rectangle is averaging
over rows, then over columns.

``max_pool2d`` has PyTorch's options: ``dilation``, ``ceil_mode`` (extra far-side padding keeps a last partial
window) and ``return_indices`` (flat ``row * W + col`` in each input plane). Its padding is the dtype's lowest
value, so it never wins, on integers too. Faster twins (tiled windows on the CPU, CUDA kernels) are in
``minitl/fast/pool.py``.
"""
import math

import numpy

from ..backend import get_array_module
from ..tensor import Function, Tensor
from .conv import output_size, pair, window_tap, windows


def pool_settings(x, kernel_size, stride, padding, name):
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


def lowest_value(dtype):
    """The value that never wins a max: -inf for floats, the smallest integer for integer dtypes."""
    dtype = numpy.dtype(dtype)
    return -numpy.inf if dtype.kind == "f" else numpy.iinfo(dtype).min


def pooled_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's rule: (size + 2p - d(k-1) - 1) / s + 1, rounded up in ceil mode, but the last window
    must start inside the input or the left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class MaxPool2d(Function):
    # y = max over each (dilated) window ;  dy/dx = 1 at the window's first maximum, 0 elsewhere
    def __init__(self, kernel, stride, padding, dilation, out_hw, indices_out):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.out_hw, self.indices_out = out_hw, indices_out

    def forward(self, x):
        xp = get_array_module(x)
        (kh, kw), (ph, pw), (oh, ow) = self.kernel, self.padding, self.out_hw
        # far-side padding: ceil mode may need a window that runs past the symmetric padding
        extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)) for o, s, d, k, n, p in
                 zip(self.out_hw, self.stride, self.dilation, self.kernel, x.shape[2:], self.padding)]
        widths = ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1]))
        padded = xp.pad(x, widths, mode="constant", constant_values=lowest_value(x.dtype))
        view = windows(padded, self.kernel, self.stride, self.dilation)[:, :, :oh, :ow]
        best, winner = view[..., 0, 0].copy(), xp.zeros((x.shape[0], x.shape[1], oh, ow), dtype=xp.int32)
        for tap in range(1, kh * kw):
            candidate = view[..., tap // kw, tap % kw]
            better = candidate > best  # strict: the first maximum wins ties, as PyTorch
            if x.dtype.kind == "f":  # a NaN beats every number, and a later NaN an earlier one, as in PyTorch
                better |= xp.isnan(candidate)
            best = xp.where(better, candidate, best)
            winner = xp.where(better, tap, winner)
        self.winner, self.padded_shape, self.x_shape = winner, padded.shape, x.shape
        if self.indices_out is not None:  # the input pixel each window's max came from, flat in (H, W)
            (sh, sw), (dh, dw) = self.stride, self.dilation
            rows = xp.arange(oh).reshape(-1, 1) * sh + (winner // kw) * dh - ph
            cols = xp.arange(ow) * sw + (winner % kw) * dw - pw
            self.indices_out.append((rows * x.shape[3] + cols).astype(xp.int64))
        return best

    def backward(self, grad):
        # BEGIN SOLUTION max_pool2d
        xp = get_array_module(grad)
        kw, (ph, pw), (h, w) = self.kernel[1], self.padding, self.x_shape[2:]
        g_padded = xp.zeros(self.padded_shape, dtype=grad.dtype)
        for tap in range(self.kernel[0] * kw):
            where = window_tap(tap // kw, tap % kw, self.out_hw, self.stride, self.dilation)
            g_padded[where] += grad * (self.winner == tap)
        return g_padded[:, :, ph:ph + h, pw:pw + w]
        # END SOLUTION


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


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Largest value of each kh x kw window, as ``torch.nn.functional.max_pool2d``. x: (N, C, H, W) -> (N, C, OH, OW).

    ``dilation`` spaces the window's taps apart; ``ceil_mode=True`` keeps a last, partial window
    (rounding the output size up); ``return_indices=True`` returns ``(output, indices)`` with the
    flat ``row * W + col`` of each maximum. Padding counts as the lowest value, so it never wins.
    Notice that the gradient goes to one input per window (the first maximum on ties).
    """
    dilation = pair(dilation, "dilation")
    settings = pool_settings(x, kernel_size, stride, padding, "max_pool2d")
    kernel, stride, padding = settings["kernel"], settings["stride"], settings["padding"]
    out_hw = tuple(pooled_size(*args, ceil_mode) for args in zip(x.shape[2:], kernel, stride, padding, dilation))
    if min(out_hw) < 1:
        raise ValueError(f"max_pool2d: kernel {kernel} with dilation {dilation} does not fit the input of "
                         f"spatial size {tuple(x.shape[2:])}")
    indices = [] if return_indices else None
    out = MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                                 out_hw=out_hw, indices_out=indices)
    return (out, Tensor(indices[0])) if return_indices else out


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
