"""The reductions beyond the spine's sum and mean (``core/ops/reduce.py``): the largest and smallest values
(``amax``, ``amin``), ``max`` and ``min`` with their indices, ``argmax``/``argmin``, variance and standard deviation,
``any``/``all``.
"""
import builtins
import collections

from ..core.backend import get_array_module
from ..core.ops.reduce import (
    normalize_dim,
    normalize_dims,
    reduced_axes,
    reduced_count,
    resolve_dim,
    restore_reduced,
)
from ..core.tensor import Function, Tensor


class PickAlongAxis(Function):
    # z = x[..., index, ...] along one axis ;  dL/dx = g at the picked index, 0 elsewhere
    def __init__(self, index, axis, keepdims=False):
        self.index, self.axis, self.keepdims = index, axis, keepdims  # index: int array, size 1 along axis

    def forward(self, x):
        self.shape = x.shape
        z = get_array_module(x).take_along_axis(x, self.index, axis=self.axis)
        return z if self.keepdims else z.squeeze(self.axis)

    def backward(self, grad):
        xp = get_array_module(grad)
        along_axis = [-1 if a == self.axis else 1 for a in range(len(self.shape))]
        positions = xp.arange(self.shape[self.axis]).reshape(along_axis)  # 0, 1, 2, ... along the axis
        return xp.where(positions == self.index, restore_reduced(grad, (self.axis,), self.keepdims), grad.dtype.type(0))


class Var(Function):
    # z = sum_i (x_i - m)^2 / (n - c) ;  dz/dx_i = 2 (x_i - m) / (n - c)
    def __init__(self, axis=None, keepdims=False, correction=1):
        self.axis, self.keepdims, self.correction = axis, keepdims, correction

    def forward(self, x):
        self.axes = reduced_axes(self.axis, x.ndim)
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.denominator = builtins.max(reduced_count(x.shape, self.axes) - self.correction, 0)
        return (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdims) / self.denominator

    def backward(self, grad):
        return restore_reduced(grad, self.axes, self.keepdims) * 2 * self.centered / self.denominator


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Smallest value over ``dim``; values only, tied minima share the gradient (``torch.amin``)."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Max.apply(x, axis=dim, keepdims=keepdim, smallest=True)


ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """What ``max(x, dim)`` and ``min(x, dim)`` return, as PyTorch:
``values, indices = x.max(1)``."""


def _pick_extreme(x, dim, keepdim, smallest, name):
    """Shared body of max(x, dim) and min(x, dim): the first extreme of each slice, and where it is."""

    if not isinstance(dim, int):
        raise TypeError(f"{name}(dim=...) takes one int dim, got {dim!r}; for several axes use a{name} (values only)")
    axis = normalize_dim(dim, x.ndim, name)
    if x.ndim == 0:  # dim 0 / -1 of a 0-d tensor: the value itself, at index 0 (as PyTorch)
        x, keepdim = x.reshape(1), False
    xp = get_array_module(x.data)
    index = (xp.argmin if smallest else xp.argmax)(x.data, axis=axis, keepdims=True)  # the first extreme on ties
    values = PickAlongAxis.apply(x, index=index, axis=axis, keepdims=keepdim)
    indices = index if keepdim else index.squeeze(axis)
    return ValuesIndices(values, Tensor._wrap(indices.astype("int64", copy=False)))


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """The largest value, as ``torch.max``: two forms.

    ``max(x)``: the largest of all elements (ties share the gradient, as ``amax``).
    ``max(x, dim)``: a named tuple ``(values, indices)`` over that axis; the gradient of each value
    goes to the one element picked, the first maximum on ties. ``_, pred = logits.max(1)`` is the
    usual way to read predicted classes.
    """
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    if dim is None:
        return Max.apply(x, axis=None, keepdims=keepdim)
    return _pick_extreme(x, dim, keepdim, smallest=False, name="max")


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """The smallest value: ``min(x)`` a value (ties share), ``min(x, dim)`` ``(values, indices)``; see ``max``."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    if dim is None:
        return Max.apply(x, axis=None, keepdims=keepdim, smallest=True)
    return _pick_extreme(x, dim, keepdim, smallest=True, name="min")


def var(x, dim=None, keepdim=False, correction=None, *, unbiased=None, axis=None, keepdims=False):
    """Variance over ``dim``; ``correction=1`` (the default) divides by n-1, ``correction=0`` by n.

    ``unbiased=False`` (PyTorch's older keyword) is ``correction=0``; ``unbiased=True`` is ``correction=1``.
    """
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    if unbiased is not None and correction is not None:
        raise TypeError("var: give correction or unbiased (its older name), not both")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return Var.apply(x, axis=dim, keepdims=keepdim, correction=correction)


def _arg_extreme(x, dim, keepdim, axis, keepdims, smallest):
    """Shared body of argmax and argmin: an int64 tensor of positions, the first extreme on ties."""

    name = "argmin" if smallest else "argmax"
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    data = x.data if isinstance(x, Tensor) else x
    xp = get_array_module(data)
    pick = xp.argmin if smallest else xp.argmax
    if dim is not None:
        dim = normalize_dim(dim, data.ndim, name)
    if dim is not None and data.ndim:
        out = pick(data, axis=dim, keepdims=keepdim)
    else:
        out = pick(data)
    return Tensor._wrap(xp.asarray(out, dtype="int64"))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Index of the largest value (an int64 tensor, no gradient: indices are not differentiable)."""
    return _arg_extreme(x, dim, keepdim, axis, keepdims, smallest=False)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Index of the smallest value (int64, no gradient); the first one on ties, as ``argmax``."""
    return _arg_extreme(x, dim, keepdim, axis, keepdims, smallest=True)


def std(x, dim=None, keepdim=False, correction=None, *, unbiased=None, axis=None, keepdims=False):
    """Standard deviation: ``sqrt(var(...))`` with ``var``'s arguments (``correction=1`` by default)."""
    return var(x, dim, keepdim, correction, unbiased=unbiased, axis=axis, keepdims=keepdims) ** 0.5


def _truth(x, dim, keepdim, op):

    data = x.data if isinstance(x, Tensor) else x
    axes = None if dim is None else normalize_dims(dim, data.ndim, op.__name__)
    return Tensor._wrap(get_array_module(data).asarray(op(data, axis=axes, keepdims=keepdim)))


def any(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """Whether any element (along ``dim``) is non-zero: a bool tensor, no gradient."""
    return _truth(x, dim, keepdim, get_array_module(getattr(x, "data", x)).any)


def all(x, dim=None, keepdim=False):  # noqa: A001
    """Whether every element (along ``dim``) is non-zero: a bool tensor, no gradient."""
    return _truth(x, dim, keepdim, get_array_module(getattr(x, "data", x)).all)


class Max(Function):
    # z = max_i x_i ;  dz/dx_i = 1/k for each of the k maximal elements, 0 elsewhere (torch.amax)
    def __init__(self, axis=None, keepdims=False, smallest=False):
        self.axis, self.keepdims, self.smallest = axis, keepdims, smallest

    def forward(self, x):
        self.axes = reduced_axes(self.axis, x.ndim)
        z = (x.min if self.smallest else x.max)(axis=self.axes, keepdims=True)
        self.winners = x == z
        return z if self.keepdims else z.reshape([n for i, n in enumerate(z.shape) if i not in self.axes])

    def backward(self, grad):
        # dtype: an int64 count would promote to float64
        ties = self.winners.sum(axis=self.axes, keepdims=True, dtype=grad.dtype)
        return restore_reduced(grad, self.axes, self.keepdims) * self.winners / ties


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Largest value over ``dim`` (all axes by default, or a tuple of them); values only, as ``torch.amax``.

    Notice that tied maxima share the gradient equally: three equal winners get 1/3 each.
    """
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    return Max.apply(x, axis=dim, keepdims=keepdim)
