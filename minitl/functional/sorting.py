"""Sorting along an axis: ``sort``, ``argsort``, ``topk``, as PyTorch (values and indices).

The values are a gather of the input at the sorted positions, so their gradient is the gather's:
each output gradient goes back to the element that landed there (``indexing.TakeAlongAxis``).
The indices are int64 and carry no gradient.
"""
import collections

from ..core.backend import get_array_module
from ..core.ops.reduce import normalize_dim
from ..core.tensor import Tensor
from .indexing import TakeAlongAxis

SortResult = collections.namedtuple("SortResult", ["values", "indices"])
SortResult.__doc__ = "What ``sort`` and ``topk`` return, as PyTorch: ``values, indices = x.sort()``."


def _order(data, axis, descending, stable=True):
    """Indices that sort ``data`` along ``axis``; equal elements keep their order (stable)."""
    xp = get_array_module(data)
    if descending:
        # reverse of an ascending stable sort, computed on the flipped array so ties still keep their order
        n = data.shape[axis]
        flipped = xp.argsort(xp.flip(data, axis=axis), axis=axis, kind="stable")
        return xp.flip(n - 1 - flipped, axis=axis)
    return xp.argsort(data, axis=axis, kind="stable" if stable else None)


def _wrap_indices(indices):

    return Tensor._wrap(indices.astype("int64", copy=False))


def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim`` (the last axis by default); ``x[indices]`` along dim is ``values``.

    Ties keep their original order (minitl always sorts stably, which ``stable=True`` asks for in PyTorch).
    """
    if x.ndim == 0:
        normalize_dim(dim, 0, "sort")
        return SortResult(x.reshape(()), _wrap_indices(get_array_module(x.data).zeros((), dtype="int64")))
    axis = normalize_dim(dim, x.ndim, "sort")
    order = _order(x.data, axis, descending)
    return SortResult(TakeAlongAxis.apply(x, index=order, axis=axis), _wrap_indices(order))


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices of ``sort`` only (int64, no gradient)."""
    return sort(x, dim, descending, stable).indices


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """The ``k`` largest (or, with ``largest=False``, smallest) values along ``dim`` and their indices.

    ``logits.topk(5).indices`` are the top-5 predicted classes; the values come largest first.
    """
    axis = normalize_dim(dim, x.ndim, "topk")
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for a dimension of size {n}")
    if x.ndim == 0:
        return sort(x)
    xp = get_array_module(x.data)
    order = _order(x.data, axis, descending=largest)
    order = xp.take(order, xp.arange(k), axis=axis)
    return SortResult(TakeAlongAxis.apply(x, index=order, axis=axis), _wrap_indices(order))
