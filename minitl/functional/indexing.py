"""Indexing: ``x[index]`` with PyTorch's rule where ints and lists meet, ``split``, and indexing by tensors of
positions: gather, scatter, index_select, masked_fill, one_hot.

The extended PyTorch API, beside the spine's slicing (``core/ops/shape.py``): each op moves values,
so each backward moves the gradient back to where the value came from, adding where a position repeats.
"""
from ..core.backend import get_array_module
from ..core.backend import scatter_add as add_at  # the array seam's; scatter_add below is the op
from ..core.ops.reduce import normalize_dim, resolve_dim
from ..core.ops.shape import GetItem
from ..core.tensor import Function, Tensor, data_of


def along_axis(index, axis):
    """The NumPy index tuple that picks ``index[i, j, ...]`` along ``axis`` and position (i, j, ...) elsewhere."""
    xp = get_array_module(index)
    grid = list(xp.ix_(*[xp.arange(n) for n in index.shape])) if index.ndim else []
    grid[axis] = index
    return tuple(grid)


class TakeAlongAxis(Function):
    # z = x read at index along one axis (gather) ;  dL/dx = g added back where it was read (scatter-add)
    def __init__(self, index, axis):
        self.where = along_axis(index, axis)

    def forward(self, x):
        self.shape = x.shape
        return x[self.where]

    def backward(self, grad):
        gx = get_array_module(grad).zeros(self.shape, dtype=grad.dtype)
        add_at(gx, self.where, grad)
        return gx


class Scatter(Function):
    # z = x with src written (or added) at index along one axis ;  dL/dx = g (0 where overwritten), dL/dsrc = g read
    # at index
    def __init__(self, index, axis, accumulate, value=None):
        self.where, self.accumulate, self.value = along_axis(index, axis), accumulate, value
        self.block = tuple(slice(0, n) for n in index.shape)  # only src[:index.shape] is written, as PyTorch

    def forward(self, x, *src):
        out = x.copy()
        if src:
            self.src_shape = src[0].shape
        written = src[0][self.block] if src else self.value
        if self.accumulate:
            add_at(out, self.where, written)
        else:
            out[self.where] = written
        return out

    def backward(self, grad):
        gx = grad
        if not self.accumulate and self.needs_input_grad[0]:
            gx = grad.copy()
            gx[self.where] = 0  # overwritten elements no longer reach the output
        if len(self.needs_input_grad) == 1:
            return gx
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = get_array_module(grad).zeros(self.src_shape, dtype=grad.dtype)
            gsrc[self.block] = grad[self.where]
        return gx, gsrc


class IndexSelect(Function):
    # z = x.take(index, axis) ;  dL/dx = g added back at index (repeats add up)
    def __init__(self, index, axis):
        self.index, self.axis = index, axis

    def forward(self, x):
        self.shape = x.shape
        return get_array_module(x).take(x, self.index, axis=self.axis)

    def backward(self, grad):
        gx = get_array_module(grad).zeros(self.shape, dtype=grad.dtype)
        add_at(gx, (slice(None),) * self.axis + (self.index,), grad)
        return gx


class MaskedFill(Function):
    # z = value where mask else x ;  dL/dx = g where not mask, 0 where filled
    def __init__(self, mask, value):
        self.mask, self.value = mask, value

    def forward(self, x):
        return get_array_module(x).where(self.mask, x.dtype.type(self.value), x)

    def backward(self, grad):
        return get_array_module(grad).where(self.mask, grad.dtype.type(0), grad)


def _index_array(index, x, op):
    """The raw int64 array of an index tensor (or list), on ``x``'s device."""

    xp = get_array_module(x.data)
    array = xp.asarray(data_of(index, like=x))
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {array.dtype}; use index.long()")
    return array.astype("int64", copy=False)


def _check_src_dtype(x, src, op):
    """PyTorch refuses a ``src`` of another dtype rather than cast it silently (float64 rounded to float32)."""
    dtype = getattr(src, "dtype", None)
    if dtype is not None and str(dtype) != str(x.dtype):
        raise TypeError(f"{op}: src has dtype {dtype} but the input has {x.dtype}; they must match, as in PyTorch "
                        f"(convert one, e.g. src.to(dtype={str(x.dtype)!r}))")


def _check_index_rank(x, index, op):
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dimensions but the input has {x.ndim}; they must match "
                         "(unsqueeze the index, e.g. target.unsqueeze(1) to gather one class per row)")


def gather(x, dim, index):
    """``out[i][j] = x[i][index[i][j]]`` for ``dim=1`` (``index`` has ``x``'s number of dims; its shape
    is the output's). ``logp.gather(1, y.unsqueeze(1))`` picks each row's log-probability of its class."""
    axis = normalize_dim(dim, x.ndim, "gather")
    index = _index_array(index, x, "gather")
    _check_index_rank(x, index, "gather")
    return TakeAlongAxis.apply(x, index=index, axis=axis)


def scatter(x, dim, index, src=None, *, value=None):
    """A copy of ``x`` with ``out[i][index[i][j]] = src[i][j]`` (``dim=1``); ``value=`` writes one number instead.

    Notice that if ``index`` names a position twice, which write wins is not defined (as in PyTorch).
    """

    axis = normalize_dim(dim, x.ndim, "scatter")
    index = _index_array(index, x, "scatter")
    _check_index_rank(x, index, "scatter")
    if isinstance(src, (int, float)) and value is None:
        src, value = None, src  # x.scatter(1, idx, 0.0): PyTorch's scalar form
    if src is None:
        if value is None:
            raise TypeError("scatter needs src (a tensor) or value (a number)")
        return Scatter.apply(x, index=index, axis=axis, accumulate=False, value=value)
    _check_src_dtype(x, src, "scatter")
    return Scatter.apply(x, src if isinstance(src, Tensor) else Tensor(src, dtype=x.dtype, device=x.device),
                         index=index, axis=axis, accumulate=False)


def scatter_add(x, dim, index, src):
    """A copy of ``x`` with ``out[i][index[i][j]] += src[i][j]`` (``dim=1``): repeated positions add up."""
    axis = normalize_dim(dim, x.ndim, "scatter_add")
    index = _index_array(index, x, "scatter_add")
    _check_index_rank(x, index, "scatter_add")
    _check_src_dtype(x, src, "scatter_add")
    return Scatter.apply(x, src, index=index, axis=axis, accumulate=True)


def index_select(x, dim, index):
    """The slices of ``x`` at positions ``index`` (a 1-D integer tensor) along ``dim``; repeats allowed."""
    axis = normalize_dim(dim, x.ndim, "index_select")
    index = _index_array(index, x, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-D, got shape {tuple(index.shape)}")
    return IndexSelect.apply(x, index=index.reshape(-1), axis=axis)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` (a bool tensor broadcasting to ``x``) is true, ``x`` elsewhere.

    Attention masks use it: ``scores.masked_fill(~allowed, float("-inf"))`` before a softmax.
    """

    mask = data_of(mask, like=x)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}; compare first, e.g. x > 0")
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"masked_fill: value must be a number or a one-element tensor, got shape {value.shape}")
        value = value.item()
    return MaskedFill.apply(x, mask=mask, value=value)


def one_hot(tensor, num_classes=-1):
    """Class indices (any shape, int) -> int64 one-hot vectors along a new last axis (no gradient).

    ``num_classes=-1`` uses the largest index + 1, as PyTorch.
    """

    labels = tensor.data if isinstance(tensor, Tensor) else tensor
    xp = get_array_module(labels)
    labels = xp.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot expects integer class indices, got dtype {labels.dtype}; use labels.long()")
    if num_classes < 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"one_hot: class indices must be in 0..{num_classes - 1}, got {int(labels.min())}.."
                         f"{int(labels.max())}")
    out = (labels[..., None] == xp.arange(num_classes)).astype("int64")
    return Tensor._wrap(out)


def _unwrap_index(index):
    """Tensors inside an index become their arrays (bool masks and integer arrays work the same)."""

    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def getitem(x, index):
    """``x[index]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks.

    Notice PyTorch's rule where ints and index lists meet: ``x[0, :, [0, 2]]`` on a (2, 3, 4) tensor
    is (3, 2) (the int selects first, then the list indexes what is left), where NumPy would give
    (2, 3). So such an index runs as two steps: the ints, then the lists.
    """
    index = _unwrap_index(index)
    steps = _ints_first(index)
    if steps is None:
        return GetItem.apply(x, index=index)
    return GetItem.apply(GetItem.apply(x, index=steps[0]), index=steps[1])


def _ints_first(index):
    """``(int step, array step)`` for an index mixing ints with integer arrays or lists, else None."""
    if not isinstance(index, tuple):
        return None
    parts = [int(p) if _is_int_scalar(p) else p for p in index]
    ints = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    arrays = [p for p in parts if not (isinstance(p, (int, slice)) or p is None or p is Ellipsis)]
    if not ints or not arrays:
        return None
    first, second = [], []
    for p in parts:
        if isinstance(p, int) and not isinstance(p, bool):
            first.append(p)  # selected away in the first step
        elif isinstance(p, slice) or p is None:
            first.append(p)
            second.append(slice(None))
        elif p is Ellipsis:
            first.append(p)
            second.append(p)
        else:  # an index array consumes one axis (a boolean mask: as many as it has)
            consumed = getattr(p, "ndim", 1) if getattr(p, "dtype", None) == bool else 1  # noqa: E721 - a dtype compared with bool, not a type check
            first.extend([slice(None)] * consumed)
            second.append(p)
    return tuple(first), tuple(second)


def _is_int_scalar(p) -> bool:
    """A Python or NumPy integer, or a 0-d integer array (PyTorch reads a 0-d tensor index as an int)."""
    dtype = getattr(p, "dtype", None)
    if dtype is not None:
        return getattr(p, "ndim", 1) == 0 and dtype.kind in "iu"
    return isinstance(p, int) and not isinstance(p, bool)


def split(x, split_size_or_sections, dim=None, *, axis=None):
    """Cut ``x`` along ``dim`` (0 by default) into pieces of ``split_size`` (an int) or of the listed sizes.

    Each piece is an indexing op, so each gets its own gradient slice.
    """
    axis = normalize_dim(resolve_dim(dim, axis, default=0)[0], x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split sizes {sizes} do not add up to {n}, the size of axis {axis}")
    pieces, start = [], 0
    lead = (slice(None),) * (axis % x.ndim)
    for size in sizes:
        pieces.append(getitem(x, lead + (slice(start, start + size),)))
        start += size
    return tuple(pieces)
