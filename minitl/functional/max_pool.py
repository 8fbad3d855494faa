"""``max_pool2d`` with all of PyTorch's options: ``dilation``, ``ceil_mode`` and ``return_indices``.

The plain call (no dilation, floor mode, no indices) goes to the fast path in ``pool.py``. The
general path here pads with the dtype's lowest value (so padding never wins, on integers too),
adds extra rows and columns on the far side when ``ceil_mode`` keeps a last partial window, and
reads dilated windows through the same strided views as the convolution. The indices are flat
positions ``row * W + col`` in each (H, W) input plane, PyTorch's convention (what its ``max_unpool2d`` reads).

Talks to: ``autograd.py`` (Function), ``conv.py`` (window helpers), ``pool.py`` (the fast path).
"""
import math

import numpy

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from .conv import pair, window_tap, windows
from .pool import _pool_settings
from .pool import max_pool2d as fast_max_pool2d


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


class MaxPool2dGeneral(Function):
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
        xp = get_array_module(grad)
        kw, (ph, pw), (h, w) = self.kernel[1], self.padding, self.x_shape[2:]
        g_padded = xp.zeros(self.padded_shape, dtype=grad.dtype)
        for tap in range(self.kernel[0] * kw):
            where = window_tap(tap // kw, tap % kw, self.out_hw, self.stride, self.dilation)
            g_padded[where] += grad * (self.winner == tap)
        return g_padded[:, :, ph:ph + h, pw:pw + w]


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Largest value of each kh x kw window, as ``torch.nn.functional.max_pool2d``. x: (N, C, H, W) -> (N, C, OH, OW).

    ``dilation`` spaces the window's taps apart; ``ceil_mode=True`` keeps a last, partial window
    (rounding the output size up); ``return_indices=True`` returns ``(output, indices)`` with the
    flat ``row * W + col`` of each maximum. Notice that the gradient goes to one input per window.
    """
    dilation = pair(dilation, "dilation")
    if dilation == (1, 1) and not ceil_mode and not return_indices:
        return fast_max_pool2d(x, kernel_size, stride, padding)
    settings = _pool_settings(x, kernel_size, stride, padding, "max_pool2d")  # the fast path's checks
    kernel, stride, padding = settings["kernel"], settings["stride"], settings["padding"]
    out_hw = tuple(pooled_size(*args, ceil_mode) for args in zip(x.shape[2:], kernel, stride, padding, dilation))
    if min(out_hw) < 1:
        raise ValueError(f"max_pool2d: kernel {kernel} with dilation {dilation} does not fit the input of "
                         f"spatial size {tuple(x.shape[2:])}")
    indices = [] if return_indices else None
    out = MaxPool2dGeneral.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                                 out_hw=out_hw, indices_out=indices)
    return (out, Tensor(indices[0])) if return_indices else out
