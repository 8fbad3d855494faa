"""Padding that copies the image's own pixels: ``reflect``, ``replicate`` and ``circular`` (``F.pad(mode=...)``).

Each mode is an index map along each padded axis: the padded array is ``x.take(index, axis)``
with, for an axis of length L and positions -left .. L - 1 + right,
reflect ``|i|`` mirrored at L - 1 (the edge pixel is not repeated), replicate ``clip(i, 0, L - 1)``,
circular ``i mod L``. The backward adds each output gradient back into the pixel it copied
(``scatter_add``: an edge pixel copied three times gets three gradients).
"""
from ..core.backend import get_array_module, scatter_add
from ..core.tensor import Function

MODES = ("reflect", "replicate", "circular")


def pad_index(xp, length, left, right, mode):
    """Which input position each padded position copies along one axis."""
    i = xp.arange(-left, length + right)
    if mode == "replicate":
        return xp.clip(i, 0, length - 1)
    if mode == "circular":
        return i % length
    i = abs(i)  # reflect: mirror at 0, then at L - 1
    return xp.where(i > length - 1, 2 * (length - 1) - i, i)


class IndexPad(Function):
    # y = x.take(index_a, a) for each padded axis a ;  dL/dx = g added back through each index (reverse order)
    def __init__(self, widths, mode):
        self.widths, self.mode = widths, mode  # widths: {axis: (left, right)}

    def forward(self, x):
        xp = get_array_module(x)
        self.steps = []
        for axis, (left, right) in self.widths.items():
            index = pad_index(xp, x.shape[axis], left, right, self.mode)
            self.steps.append((axis, x.shape[axis], index))
            x = xp.take(x, index, axis=axis)
        return x

    def backward(self, grad):
        xp = get_array_module(grad)
        for axis, length, index in reversed(self.steps):
            moved = xp.moveaxis(grad, axis, 0)
            summed = xp.zeros((length,) + moved.shape[1:], dtype=grad.dtype)
            scatter_add(summed, index, moved)
            grad = xp.moveaxis(summed, 0, axis)
        return grad


def pad_copying(x, pad, mode):
    """``F.pad(x, pad, mode)`` for the modes that copy pixels. ``pad`` is PyTorch's (left, right, top, bottom, ...).

    The last ``len(pad) // 2`` axes are padded, at most ``x.ndim - 1`` of them (the first axis is the
    batch or channel axis, as in PyTorch). Reflect needs each pad smaller than its axis.
    Notice the difference at the border: reflect gives ``c b | a b c d | c b``, replicate ``a a | a b c d | d d``.
    """
    if mode not in MODES:
        raise ValueError(f"pad: mode must be 'constant' or one of {MODES}, got {mode!r}")
    if len(pad) % 2 or not pad:
        raise ValueError(f"pad: needs pairs (before, after) per axis, got {tuple(pad)}")
    axes = len(pad) // 2
    if axes > x.ndim - 1:
        raise ValueError(f"pad: mode={mode!r} pads at most x.ndim - 1 = {x.ndim - 1} axes of a {x.ndim}-d input, "
                         f"got {axes} pairs in {tuple(pad)}; add the batch axis with x.unsqueeze(0)")
    widths = {}
    for i in range(axes):
        axis, (left, right) = x.ndim - 1 - i, (int(pad[2 * i]), int(pad[2 * i + 1]))
        if left < 0 or right < 0:
            raise ValueError(f"pad: mode={mode!r} needs non-negative pads, got {tuple(pad)}")
        limit = x.shape[axis] - 1 if mode == "reflect" else x.shape[axis]
        if mode != "replicate" and max(left, right) > limit:
            raise ValueError(f"pad: {mode} padding of {max(left, right)} on axis {axis} needs at most {limit} "
                             f"(the axis has size {x.shape[axis]})")
        if left or right:
            widths[axis] = (left, right)
    return IndexPad.apply(x, widths=widths, mode=mode)


class Pad(Function):
    # z = x surrounded by a constant ;  dL/dx = the centre of g
    def __init__(self, widths, value=0.0):
        self.widths, self.value = widths, value

    def forward(self, x):
        self.centre = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.widths, x.shape))
        return get_array_module(x).pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, grad):
        return grad[self.centre]
