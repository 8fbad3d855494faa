"""PyTorch's Tensor methods for the indexing, sorting, reduction, rounding and rearranging ops.

``Tensor`` inherits them from ``TensorMethods``; each is one line calling the op in
``minitl.functional`` (where forward and backward stand side by side), so ``x.gather(1, idx)`` and
``minitl.gather(x, 1, idx)`` are the same op. Kept apart from ``tensor.py`` only to keep that file short.
"""


def _dims(dims, keyword=None):
    """``flip(0, 1)``, ``flip((0, 1))``, ``flip(dims=(0, 1))``: the same dims; ``flip(0)`` is ``(0,)``."""
    if keyword is not None:
        if dims:
            raise TypeError("give the dims as arguments or as dims=, not both")
        dims = (keyword,)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


class TensorMethods:
    # rearranging (functional/rearrange.py)
    def flip(self, *positional, dims=None): return _re.flip(self, _dims(positional, dims))
    def roll(self, shifts, dims=None): return _re.roll(self, shifts, dims)
    def repeat(self, *sizes): return _re.repeat(self, *sizes)
    def tile(self, *positional, dims=None): return _re.tile(self, _dims(positional, dims))

    # indexing along an axis (functional/indexing.py)
    def gather(self, dim, index): return _ix.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None): return _ix.scatter(self, dim, index, src, value=value)
    def scatter_add(self, dim, index, src): return _ix.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return _ix.index_select(self, dim, index)
    def masked_fill(self, mask, value): return _ix.masked_fill(self, mask, value)

    # reductions and scans (functional/reduce.py)
    def prod(self, dim=None, keepdim=False, **numpy_names): return _red.prod(self, dim, keepdim, **numpy_names)
    def std(self, dim=None, keepdim=False, correction=None, **names):
        return _red.std(self, dim, keepdim, correction, **names)
    def argmin(self, dim=None, keepdim=False, **numpy_names): return _red.argmin(self, dim, keepdim, **numpy_names)
    def any(self, dim=None, keepdim=False): return _red.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return _red.all(self, dim, keepdim)
    def cumsum(self, dim): return _red.cumsum(self, dim)
    def logsumexp(self, dim, keepdim=False): return _red.logsumexp(self, dim, keepdim)

    # sorting (functional/sorting.py)
    def sort(self, dim=-1, descending=False, stable=False): return _so.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return _so.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return _so.topk(self, k, dim, largest, sorted)  # noqa: A002

    # more elementwise math (functional/unary.py, elementwise.py)
    def sin(self): return _un.sin(self)
    def cos(self): return _un.cos(self)
    def rsqrt(self): return _un.rsqrt(self)
    def log2(self): return _un.log2(self)
    def log1p(self): return _un.log1p(self)
    def expm1(self): return _un.expm1(self)
    def floor(self): return _un.floor(self)
    def ceil(self): return _un.ceil(self)
    def round(self, decimals=0): return _un.round(self, decimals)
    def trunc(self): return _un.trunc(self)
    def sign(self): return _un.sign(self)
    def __floordiv__(self, other): return _ew.floor_divide(self, other)
    def __rfloordiv__(self, other): return _ew.floor_divide(other, self)
    def __mod__(self, other): return _ew.remainder(self, other)
    def __rmod__(self, other): return _ew.remainder(other, self)


# The ops import nothing from tensor.py at load time, so they can be bound here.
from .functional import elementwise as _ew  # noqa: E402
from .functional import indexing as _ix  # noqa: E402
from .functional import rearrange as _re  # noqa: E402
from .functional import reduce as _red  # noqa: E402
from .functional import sorting as _so  # noqa: E402
from .functional import unary as _un  # noqa: E402
