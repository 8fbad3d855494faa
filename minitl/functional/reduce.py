"""Reductions: sum, mean, max, min, var, argmax.

``axis`` is None (all axes), an int, or a tuple of ints; ``keepdims`` keeps reduced axes as size 1.
The backward of a reduction broadcasts the output gradient back over the reduced axes, which is
why each backward first restores those axes with ``_restore``.
"""
import builtins

from ..autograd import Function
from ..backend import get_array_module


def _axes(axis, ndim):
    """Normalise ``axis`` to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def _restore(g, axes, keepdims):
    """Put back the reduced axes (as size 1) so ``g`` broadcasts against the input."""
    if keepdims:
        return g
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return g.reshape(shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    # z = sum_i x_i ;  dz/dx_i = 1
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape, self.axes = x.shape, _axes(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        return get_array_module(g).broadcast_to(_restore(g, self.axes, self.keepdims), self.shape)


class Mean(Function):
    # z = (1/n) sum_i x_i ;  dz/dx_i = 1/n
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape, self.axes = x.shape, _axes(self.axis, x.ndim)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        g = _restore(g, self.axes, self.keepdims) / _count(self.shape, self.axes)
        return get_array_module(g).broadcast_to(g, self.shape)


class Max(Function):
    # z = max_i x_i ;  dz/dx_i = 1/k for each of the k maximal elements, 0 elsewhere (torch.amax)
    def __init__(self, axis=None, keepdims=False, smallest=False):
        self.axis, self.keepdims, self.smallest = axis, keepdims, smallest

    def forward(self, x):
        self.axes = _axes(self.axis, x.ndim)
        z = (x.min if self.smallest else x.max)(axis=self.axes, keepdims=True)
        self.winners = x == z
        return z if self.keepdims else z.reshape([n for i, n in enumerate(z.shape) if i not in self.axes])

    def backward(self, g):
        ties = self.winners.sum(axis=self.axes, keepdims=True, dtype=g.dtype)  # an int64 count would promote to float64
        return _restore(g, self.axes, self.keepdims) * self.winners / ties


class Var(Function):
    # z = sum_i (x_i - m)^2 / (n - c) ;  dz/dx_i = 2 (x_i - m) / (n - c)
    def __init__(self, axis=None, keepdims=False, correction=1):
        self.axis, self.keepdims, self.correction = axis, keepdims, correction

    def forward(self, x):
        self.axes = _axes(self.axis, x.ndim)
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.denominator = builtins.max(_count(x.shape, self.axes) - self.correction, 0)
        return (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdims) / self.denominator

    def backward(self, g):
        return _restore(g, self.axes, self.keepdims) * 2 * self.centered / self.denominator


def resolve_dim(dim, axis, keepdim=False, keepdims=False):
    """PyTorch's names (``dim``, ``keepdim``) with NumPy's (``axis``, ``keepdims``) accepted too."""
    if dim is not None and axis is not None:
        raise TypeError("give dim (PyTorch's name) or axis (NumPy's name), not both")
    return (dim if dim is not None else axis), bool(keepdim or keepdims)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001 - the op's name
    """Sum over ``dim`` (all axes by default)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Sum.apply(x, axis=dim, keepdims=keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Mean over ``dim`` (all axes by default)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Mean.apply(x, axis=dim, keepdims=keepdim)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """Largest value over ``dim``; ties share the gradient equally (``torch.amax`` semantics: the
    values only, no indices; use ``argmax`` for those)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Max.apply(x, axis=dim, keepdims=keepdim)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """Smallest value over ``dim``; ties share the gradient equally (``torch.amin`` semantics)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Max.apply(x, axis=dim, keepdims=keepdim, smallest=True)


def var(x, dim=None, keepdim=False, correction=1, *, axis=None, keepdims=False):
    """Variance over ``dim``; ``correction=1`` divides by n-1 (unbiased, PyTorch's default)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Var.apply(x, axis=dim, keepdims=keepdim, correction=correction)


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Index of the largest value (an int64 tensor, no gradient: indices are not differentiable)."""
    from ..tensor import Tensor  # noqa: PLC0415

    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    data = x.data if isinstance(x, Tensor) else x
    xp = get_array_module(data)
    out = xp.argmax(data, axis=dim, keepdims=keepdim) if dim is not None else xp.argmax(data)
    return Tensor._from_op(xp.asarray(out, dtype="int64"), None)
