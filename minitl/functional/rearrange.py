"""Ops that reorder or copy whole slices: ``flip``, ``roll``, ``repeat``, ``tile``.

No number changes, so each backward is the inverse move: flip back, roll back, and for the copying
ops (``repeat``, ``tile``) the sum over the copies, since each copy of an element passes gradient
back to it.
"""
from ..core.backend import get_array_module
from ..core.ops.reduce import normalize_dims
from ..core.tensor import Function


class Flip(Function):
    # z = x reversed along dims ;  dL/dx = g reversed along the same dims
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return get_array_module(x).flip(x, axis=self.dims)

    def backward(self, grad):
        return get_array_module(grad).flip(grad, axis=self.dims)


class Roll(Function):
    # z_i = x_(i - shift) cyclically ;  dL/dx = g rolled by -shift
    def __init__(self, shifts, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return get_array_module(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, grad):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return get_array_module(grad).roll(grad, back, axis=self.dims)


class Tile(Function):
    # z = x copied reps[k] times along axis k ;  dL/dx = g summed over the copies
    def __init__(self, reps):
        self.reps = reps  # one count per axis of the result (len(reps) >= x.ndim)

    def forward(self, x):
        self.shape = x.shape
        return get_array_module(x).tile(x, self.reps)

    def backward(self, grad):
        sizes = (1,) * (len(self.reps) - len(self.shape)) + tuple(self.shape)
        split = [n for pair in zip(self.reps, sizes) for n in pair]  # (r0, s0, r1, s1, ...)
        copies = tuple(range(0, 2 * len(sizes), 2))
        return grad.reshape(split).sum(axis=copies).reshape(self.shape)


def flip(x, dims):
    """Reverse the order of elements along ``dims`` (an int or a tuple), as ``torch.flip``: (N, C, H, W)
    flipped along 3 is a horizontal mirror."""
    return Flip.apply(x, dims=normalize_dims(dims, x.ndim, "flip"))


def roll(x, shifts, dims=None):
    """Shift elements cyclically: what falls off one end comes back at the other.

    ``dims=None`` rolls the flattened tensor, as PyTorch; ``shifts`` and ``dims`` may be tuples.
    """
    if dims is None:
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:  # PyTorch refuses too, rather than roll the flattened tensor by the sum
                raise ValueError(f"roll: shifts {tuple(shifts)} and dims None must align: with more than one shift "
                                 f"give one dim per shift, e.g. roll(x, {tuple(shifts)}, "
                                 f"{tuple(range(len(shifts)))})")
            shifts = shifts[0]
        return Roll.apply(x, shifts=int(shifts), dims=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    axes = tuple(normalize_dims(d, x.ndim, "roll")[0] if x.ndim else 0 for d in dims)
    return Roll.apply(x, shifts=shifts, dims=axes) if x.ndim else x


def _reps(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return tuple(int(s) for s in sizes)


def repeat(x, *sizes):
    """``Tensor.repeat`` in PyTorch: copy the whole tensor ``sizes[k]`` times along axis k.

    ``sizes`` needs at least ``x.ndim`` entries (extra ones add leading axes). Notice this is NumPy's
    ``tile``; NumPy's ``repeat`` (each element repeated in place) is PyTorch's ``repeat_interleave``.
    """
    reps = _reps(sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: give at least one count per axis ({x.ndim}), got {reps}; "
                         "tile() pads missing counts with 1")
    return Tile.apply(x, reps=reps)


def tile(x, dims):
    """Like ``repeat``, but fewer counts than axes are allowed: they apply to the last axes, as ``torch.tile``."""
    reps = _reps((dims,))
    return Tile.apply(x, reps=(1,) * (x.ndim - len(reps)) + reps)
