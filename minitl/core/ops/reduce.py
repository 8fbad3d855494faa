"""Reductions: sums, means, and the axis helpers every op that takes ``dim`` uses.

The others (``amax``, ``max``/``min`` with their indices, ``argmax``, variance, ``any``/``all``) are a wing:
``functional/reductions.py``.

A reduction's backward spreads the output gradient back over the reduced axes: ``restore_reduced`` puts the
reduced axes back (size 1) so the gradient broadcasts against the input.
"""
import builtins

from ..backend import get_array_module
from ..tensor import Function


def normalize_dim(dim, ndim: int, op: str = "") -> int:
    """``dim`` as an index in ``[0, max(ndim, 1))``, or IndexError naming the allowed range."""
    size = builtins.max(ndim, 1)  # a 0-d tensor takes dim 0 and -1, as in PyTorch
    if isinstance(dim, bool) or not isinstance(dim, int):
        try:
            dim = dim.__index__()  # NumPy integers, 0-d integer tensors
        except AttributeError:
            raise TypeError(f"{op or 'dim'}: dim must be an int, got {dim!r}") from None
    if not -size <= dim < size:
        where = f"{op}: " if op else ""
        raise IndexError(f"{where}Dimension out of range (expected to be in range of [{-size}, {size - 1}], "
                         f"but got {dim}) for a tensor with {ndim} dimension{'s' if ndim != 1 else ''}")
    return dim % size


def normalize_dims(dims, ndim: int, op: str = "") -> tuple:
    """``None`` (every axis), an int or a sequence of ints as a sorted tuple of real axes of an ``ndim`` array.

    Repeated axes are an error, as in PyTorch. For a 0-d tensor the result is ``()``: there is no axis
    to reduce, and reducing "the whole tensor" leaves it unchanged.
    """
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int) or hasattr(dims, "__index__"):
        dims = (dims,)
    axes = [normalize_dim(d, ndim, op) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op or 'dim'}: dim {tuple(dims)} names an axis more than once")
    return tuple(sorted(axes)) if ndim else ()


def reduced_axes(axis, ndim):
    """Normalise ``axis`` to a sorted tuple of non-negative ints (IndexError when out of range)."""
    return normalize_dims(axis, ndim)


def restore_reduced(g, axes, keepdims):
    """Put back the reduced axes (as size 1) so ``g`` broadcasts against the input."""
    if keepdims:
        return g
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return g.reshape(shape)


def reduced_count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    # z = sum_i x_i ;  dz/dx_i = 1
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape, self.axes = x.shape, reduced_axes(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        # BEGIN SOLUTION sum
        return get_array_module(grad).broadcast_to(restore_reduced(grad, self.axes, self.keepdims), self.shape)
        # END SOLUTION


class Mean(Function):
    # z = (1/n) sum_i x_i ;  dz/dx_i = 1/n
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape, self.axes = x.shape, reduced_axes(self.axis, x.ndim)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = restore_reduced(grad, self.axes, self.keepdims) / reduced_count(self.shape, self.axes)
        return get_array_module(grad).broadcast_to(grad, self.shape)


def resolve_dim(dim, axis, keepdim=False, keepdims=False, default=None):
    """PyTorch's names (``dim``, ``keepdim``) with NumPy's (``axis``, ``keepdims``) accepted too.

    Every op that takes an axis resolves it here, so giving both names is an error everywhere.
    ``default`` is the axis when neither is given (None: all axes, for reductions).
    """
    if dim is not None and axis is not None:
        raise TypeError(f"give dim (PyTorch's name) or axis (NumPy's name), not both: got dim={dim!r}, axis={axis!r}")
    given = dim if dim is not None else axis
    return (default if given is None else given), bool(keepdim or keepdims)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001 - the op's name
    """Sum over ``dim`` (all axes by default)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Sum.apply(x, axis=dim, keepdims=keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Mean over ``dim`` (all axes by default)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Mean.apply(x, axis=dim, keepdims=keepdim)
