"""Resizing images: ``F.interpolate`` with ``mode="nearest"`` or ``"bilinear"``, as PyTorch's.

Both modes are separable and linear in the image: resizing is one (OH, H) matrix R applied to the
rows and one (OW, W) matrix C to the columns, ``Y = R X C^T``. Row i of R says which input rows
output row i reads, and with what weights: one 1 for nearest, two weights summing to 1 for
bilinear. The backward is the transposed product ``dX = R^T G C``: each output's gradient goes
back to the pixels it was read from, in the same proportions.
"""
import math
import numbers

from ..core.backend import get_array_module
from ..core.tensor import Function

MODES = ("nearest", "bilinear")


def source_positions(xp, in_size, out_size, scale, mode, align_corners):
    """Where each output cell reads along one axis, in input coordinates (PyTorch's formulas).

    nearest: floor(i * scale); bilinear: (i + 0.5) scale - 0.5 (cell centres line up), or with
    align_corners i (in - 1) / (out - 1) (corner pixels line up). ``scale`` is in/out, or
    1 / scale_factor when the caller gave one.
    """
    i = xp.arange(out_size, dtype=xp.float64)
    if mode == "nearest":
        return xp.minimum(xp.floor(i * scale), in_size - 1)
    if align_corners:
        return i * ((in_size - 1) / (out_size - 1)) if out_size > 1 else xp.zeros(out_size)
    return xp.maximum((i + 0.5) * scale - 0.5, 0.0)


def resize_matrix(xp, in_size, out_size, scale, mode, align_corners, dtype):
    """The (out, in) matrix of one axis: each row holds the weights of the input cells that output cell reads."""
    src = source_positions(xp, in_size, out_size, scale, mode, align_corners)
    low = xp.floor(src).astype(xp.int64)
    high = xp.minimum(low + 1, in_size - 1)
    frac = src - low  # 0 for nearest: everything goes to ``low``
    matrix = xp.zeros((out_size, in_size), dtype=xp.float64)
    rows = xp.arange(out_size)
    matrix[rows, low] += 1 - frac
    matrix[rows, high] += frac  # low == high at the border: the two weights add up to 1 there
    return matrix.astype(dtype)


def resize_integer_pass(xp, matrix, x, last_axis):
    """One axis of an integer (uint8) resize, in fixed point as PyTorch does it.

    The float weights become integers w * 2^p (p: the most bits that keep the largest weight in an
    int16), each output is rounded to the nearest integer and clipped to 0..255 before the other
    axis is resized. Weights cast to uint8 instead would truncate to 0 or 1.
    """
    bits = 0
    while bits < 22 and int(0.5 + float(matrix.max()) * 2 ** (bits + 1)) < 2 ** 15:
        bits += 1
    weights = xp.floor(0.5 + matrix * 2 ** bits).astype(xp.int64)
    wide = x.astype(xp.int64)
    total = wide @ weights.T if last_axis else weights @ wide
    return xp.clip((total + 2 ** (bits - 1)) >> bits, 0, 255).astype(x.dtype)


class Resize2d(Function):
    # Y = R X C^T ;  dL/dX = R^T G C   (G = dL/dY; R, C: the resize matrices of the rows and the columns)
    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    def forward(self, x):
        if x.dtype.kind in "iu":  # integer images (no gradient): the columns, rounded, then the rows, rounded
            xp = get_array_module(x)
            return resize_integer_pass(xp, self.rows, resize_integer_pass(xp, self.cols, x, True), False)
        return self.rows @ x @ self.cols.T

    def backward(self, grad):
        return self.rows.T @ grad @ self.cols


def _pair_of(value, name):
    if value is None or isinstance(value, numbers.Number):
        return value, value
    if len(value) != 2:
        raise ValueError(f"interpolate: {name} for an (N, C, H, W) input is one number or a pair, got {value!r}")
    return tuple(value)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, H, W) images to ``size=(OH, OW)`` or by ``scale_factor``, as ``torch.nn.functional.interpolate``.

    ``mode="nearest"`` copies the nearest pixel; ``"bilinear"`` blends the four around each output
    pixel. ``align_corners`` (bilinear only; default False) lines up the corner pixels instead of
    the pixel centres. Give exactly one of ``size`` and ``scale_factor``. Notice that upsampling
    adds no information: a 2x nearest upsample is each pixel copied into a 2x2 block.
    """
    if mode not in MODES:
        raise ValueError(f"interpolate: mode {mode!r} is not supported; minitl has {MODES}")
    if input.ndim != 4:
        raise ValueError(f"interpolate expects an (N, C, H, W) input, got shape {tuple(input.shape)}; "
                         "add the batch axis with x.unsqueeze(0)")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if align_corners is not None and mode == "nearest":
        raise ValueError("interpolate: align_corners only applies to mode='bilinear' (as in PyTorch)")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported in minitl")
    in_hw = tuple(input.shape[2:])
    if size is not None:
        out_hw = tuple(int(s) for s in _pair_of(size, "size"))
        scales = [i / o for i, o in zip(in_hw, out_hw)]
    else:
        factors = _pair_of(scale_factor, "scale_factor")
        out_hw = tuple(math.floor(i * f) for i, f in zip(in_hw, factors))
        # PyTorch reads the given factor unless asked to recompute it from the rounded sizes
        scales = [i / o if recompute_scale_factor else 1 / f for i, o, f in zip(in_hw, out_hw, factors)]
    if min(out_hw) < 1:
        raise ValueError(f"interpolate: output size {out_hw} must be positive")
    xp = get_array_module(input.data)
    weight_dtype = xp.float64 if input.dtype.kind in "iu" else input.dtype  # integer images: weights in float
    rows, cols = (resize_matrix(xp, i, o, s, mode, bool(align_corners), weight_dtype)
                  for i, o, s in zip(in_hw, out_hw, scales))
    return Resize2d.apply(input, rows=rows, cols=cols)
