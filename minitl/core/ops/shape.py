"""Shape and slicing: reshape, permute, broadcast, slicing, concatenation.

``x[index]`` with its PyTorch rule for ints meeting lists, ``split``, gather, scatter and the other ops that index by
tensors of positions are a wing: ``functional/indexing.py``; constant padding is in ``functional/pad_modes.py``, the
copy between devices in ``functional/device_copy.py``.

None of these computes anything: each moves values, so each backward moves the gradient back to where
the value came from (a reshape reshapes back, a gather scatter-adds, a slice fills a zero array).
"""
import itertools

from ..backend import get_array_module
from ..backend import scatter_add as add_at
from ..tensor import Function
from .reduce import normalize_dim, resolve_dim


class Reshape(Function):
    # z = x viewed with a new shape ;  dL/dx = g reshaped back
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.source = x.shape
        return x.reshape(self.shape)

    def backward(self, grad):
        return grad.reshape(self.source)


class Permute(Function):
    # z = x with axes reordered ;  dL/dx = g with the axes put back
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        self.axes = tuple(a % x.ndim for a in self.axes)
        return x.transpose(self.axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return grad.transpose(inverse)


class BroadcastTo(Function):
    # z = x repeated along new / size-1 axes ;  dL/dx = g summed over the copies
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad  # autograd sums the broadcast copies back to x's shape


class GetItem(Function):
    # z = x[index] ;  dL/dx = zeros with g added at index (repeated indices add up)
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.source_shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, grad):
        xp = get_array_module(grad)
        gx = xp.zeros(self.source_shape, dtype=self.dtype)
        if _is_basic(self.index):
            gx[self.index] = grad  # no element picked twice: a plain write is enough
        else:
            add_at(gx, self.index, grad)
        return gx


class Cat(Function):
    # z = [x1 | x2 | ...] along axis ;  dL/dx_k = the slice of g that x_k filled
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, grad):
        cuts = list(itertools.accumulate(self.sizes[:-1]))
        return tuple(get_array_module(grad).split(grad, cuts, axis=self.axis))


def _is_basic(index) -> bool:
    """Only ints, slices, None and Ellipsis: every element is picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in parts)


def reshape(x, *shape):
    """Same numbers, new shape (one axis may be -1). ``view`` is the same op here."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(x, shape=shape)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) with start_dim=1.

    A 0-d tensor becomes shape (1,), as in PyTorch.
    """
    shape = x.shape
    start, end = normalize_dim(start_dim, x.ndim, "flatten"), normalize_dim(end_dim, x.ndim, "flatten")
    if not shape:
        return Reshape.apply(x, shape=(1,))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = 1
    for n in shape[start:end + 1]:
        merged *= n
    return Reshape.apply(x, shape=tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:]))


def permute(x, *axes):
    """Reorder axes: ``permute(x, 0, 2, 3, 1)`` turns NCHW into NHWC."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    axes = tuple(normalize_dim(a, x.ndim, "permute") for a in axes) if x.ndim else tuple(axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {tuple(axes)} must name each of the tensor's {x.ndim} axes exactly once")
    return Permute.apply(x, axes=axes)


def transpose(x, dim0=-2, dim1=-1):
    """Swap two axes (the last two by default, a matrix transpose)."""
    dim0, dim1 = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    if x.ndim == 0:
        return Reshape.apply(x, shape=())
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(x, axes=tuple(axes))


def squeeze(x, dim=None, *, axis=None):
    """Drop axes of size 1 (all of them, or the one named)."""
    axis = resolve_dim(dim, axis)[0]
    if axis is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axis = normalize_dim(axis, x.ndim, "squeeze")
        shape = x.shape if not x.ndim or x.shape[axis] != 1 else x.shape[:axis] + x.shape[axis + 1:]
    return Reshape.apply(x, shape=shape)


def unsqueeze(x, dim=None, *, axis=None):
    """Insert an axis of size 1 at ``dim`` (negative counts from the end of the result)."""
    axis = resolve_dim(dim, axis)[0]
    if axis is None:
        raise TypeError("unsqueeze() needs dim, the position of the new axis: e.g. x.unsqueeze(0) adds a batch axis")
    axis = normalize_dim(axis, x.ndim + 1, "unsqueeze")
    return Reshape.apply(x, shape=x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x, *shape):
    """Repeat ``x`` (without copying) to ``shape``; -1 keeps a size. ``expand`` is the same op."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    offset = len(shape) - x.ndim
    shape = tuple(x.shape[i - offset] if n == -1 else n for i, n in enumerate(shape))
    return BroadcastTo.apply(x, shape=shape)


expand = broadcast_to


def cat(tensors, dim=None, *, axis=None):
    """Join tensors along an existing axis (``dim``, 0 by default)."""
    tensors = list(tensors)
    axis = resolve_dim(dim, axis, default=0)[0]
    if tensors and tensors[0].ndim:
        axis = normalize_dim(axis, tensors[0].ndim, "cat")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, dim=None, *, axis=None):
    """Join tensors along a new axis (``dim``, 0 by default): ``unsqueeze`` each, then ``cat``."""
    tensors = list(tensors)
    axis = resolve_dim(dim, axis, default=0)[0]
    if tensors:
        axis = normalize_dim(axis, tensors[0].ndim + 1, "stack")
    return Cat.apply(*[unsqueeze(t, axis) for t in tensors], axis=axis)
