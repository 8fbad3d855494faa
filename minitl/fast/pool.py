"""Max pooling's fast twins: the same values and gradients as ``core/ops/pool.py``'s ``MaxPool2d``, faster.

* ``FastMaxPool2d`` (CPU): when the windows tile the image (kernel == stride, no padding) one copy
  gathers each tap of every window into its own contiguous block, so the passes per tap run on
  contiguous data, and its backward writes each input pixel once instead of adding into zeros.
  Without a gradient it needs no winners, only the values: the maximum over each window's rows, then
  over its columns (``separable_max``), fewer passes, over whole rows.
* ``CudaMaxPool2d`` (GPU): one CUDA kernel each way (``pool_cuda.py``).

Both cover the plain call (no dilation, no indices, the floor-mode output size) and hand every other
call back to the reference with ``super()``. ``tests/test_fast_paths.py`` holds them equal to it.
"""
from ..core import seams
from ..core.backend import get_array_module
from ..core.ops.conv import col2im, output_size, pad_hw, window_tap
from ..core.ops.pool import MaxPool2d
from ..cuda import has_cuda_kernels
from . import pool_cuda

ROWS_BYTES = 2 ** 20  # one chunk's maximum over rows: small enough to stay in cache for the pass over its columns


def separable_max(padded, kernel, stride, out_hw):
    """Each window's maximum, without the winners: the maximum over the window's rows, then over its columns.

    A maximum over a rectangle is one over rows, then over columns: kh - 1 passes over (OH, W) whole,
    contiguous rows, then kw - 1 over (OH, OW), instead of kh*kw - 1 passes over (OH, OW) strided taps.
    A few images at a time (``ROWS_BYTES``), so the maxima over rows are still in cache when the
    columns read them. ``maximum`` keeps a NaN: a window holding one outputs NaN, as in the reference.
    """
    xp = get_array_module(padded)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    n, c, _, w = padded.shape
    images = max(1, ROWS_BYTES // (c * oh * w * padded.itemsize))
    out = xp.empty((n, c, oh, ow), dtype=padded.dtype)
    rows = xp.empty((min(images, n), c, oh, w), dtype=padded.dtype)
    for start in range(0, n, images):
        chunk = padded[start:start + images]
        chunk_rows = rows[:chunk.shape[0]]
        maximum_into([chunk[:, :, i:i + sh * (oh - 1) + 1:sh] for i in range(kh)], chunk_rows)
        maximum_into([chunk_rows[..., j:j + sw * (ow - 1) + 1:sw] for j in range(kw)], out[start:start + images])
    return out


def maximum_into(views, out):
    """Write the elementwise maximum of same-shaped ``views`` into ``out`` (a copy for one view)."""
    xp = get_array_module(out)
    if len(views) == 1:
        out[...] = views[0]
        return
    xp.maximum(views[0], views[1], out=out)
    for view in views[2:]:
        xp.maximum(out, view, out=out)


class FastMaxPool2d(MaxPool2d):
    # as MaxPool2d, for the plain call (no dilation, no indices, the floor-mode output size)
    def covers(self, x_shape):
        return self.dilation == (1, 1) and self.indices_out is None and self.out_hw == tuple(
            output_size(n, k, s, p) for n, k, s, p in zip(x_shape[2:], self.kernel, self.stride, self.padding))

    def forward(self, x):
        self.fast = self.covers(x.shape)
        if not self.fast:
            return super().forward(x)
        xp = get_array_module(x)
        (kh, kw), no_dilation = self.kernel, (1, 1)
        lowest = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min  # integers have no -inf
        padded = pad_hw(x, self.padding, lowest)
        out_hw = tuple(output_size(n, k, s, p) for n, k, s, p in zip(x.shape[2:], self.kernel, self.stride,
                                                                       self.padding))
        self.x_shape, self.x_dtype = x.shape, x.dtype
        if not self.needs_input_grad[0]:  # the values alone
            return separable_max(padded, self.kernel, self.stride, out_hw)
        if self.kernel == self.stride and self.padding == (0, 0):
            # the windows tile the image: one copy gathers tap t = i*kw + j of every window into its own
            # contiguous (N, C, OH, OW) block, so the four passes a tap below run on contiguous data (on
            # strided taps, every kw-th value, they cost ~1.5x the copy and the contiguous passes together)
            (n, c), (oh, ow) = x.shape[:2], out_hw
            tiles = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
            taps = xp.ascontiguousarray(tiles.transpose(3, 5, 0, 1, 2, 4)).reshape(kh * kw, n, c, oh, ow)
        else:  # tap t = i*kw + j: the (N, C, OH, OW) strided view of the pixel each window holds at (i, j)
            taps = [padded[window_tap(t // kw, t % kw, out_hw, self.stride, no_dilation)] for t in range(kh * kw)]
        best = taps[0]
        # flat index of the first maximum of each window (int8: kernels up to 11x11)
        self.winner = xp.zeros(best.shape, dtype=xp.int8 if kh * kw <= 127 else xp.int32)
        better, rank = xp.empty(best.shape, dtype=bool), xp.empty(best.shape, dtype=self.winner.dtype)
        for tap in range(1, kh * kw):
            candidate = taps[tap]
            # strict >: on a tie the first maximum keeps the gradient, as PyTorch
            xp.greater(candidate, best, out=better)
            if x.dtype.kind == "f":  # a NaN beats every number, and a later NaN an earlier one (as the reference)
                better |= xp.isnan(candidate)
            # taps come in order, so the winner is the largest tap that beat the running best
            xp.maximum(self.winner, xp.multiply(better, tap, out=rank), out=self.winner)
            best = xp.maximum(best, candidate)
        return xp.ascontiguousarray(best)  # a copy only for a 1x1 kernel (best is then a view of x)

    def backward(self, grad):
        if not self.fast:
            return super().backward(grad)
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


class CudaMaxPool2d(FastMaxPool2d):
    # as MaxPool2d; on the GPU one kernel scans each window, one gathers each pixel's gradient
    def forward(self, x):
        self.kernel_path = has_cuda_kernels(get_array_module(x)) and self.covers(x.shape)
        if not self.kernel_path:
            return super().forward(x)
        y, self.winner = pool_cuda.max_pool2d(x, self.kernel, self.stride, self.padding, self.out_hw)
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return y

    def backward(self, grad):
        if not self.kernel_path:
            return super().backward(grad)
        return pool_cuda.max_pool2d_backward(grad, self.winner, self.x_shape, self.x_dtype, self.kernel,
                                             self.stride, self.padding, self.out_hw)


seams.register_fast_path(MaxPool2d, CudaMaxPool2d)
