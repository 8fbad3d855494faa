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
    def flip(self, *positional, dims=None): return rearrange.flip(self, _dims(positional, dims))
    def roll(self, shifts, dims=None): return rearrange.roll(self, shifts, dims)
    def repeat(self, *sizes): return rearrange.repeat(self, *sizes)
    def tile(self, *positional, dims=None): return rearrange.tile(self, _dims(positional, dims))

    # indexing along an axis (functional/indexing.py)
    def gather(self, dim, index): return indexing.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None): return indexing.scatter(self, dim, index, src, value=value)
    def scatter_add(self, dim, index, src): return indexing.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return indexing.index_select(self, dim, index)
    def masked_fill(self, mask, value): return indexing.masked_fill(self, mask, value)

    # reductions and scans (functional/reduce.py)
    def prod(self, dim=None, keepdim=False, **numpy_names): return reduce.prod(self, dim, keepdim, **numpy_names)
    def std(self, dim=None, keepdim=False, correction=None, **names):
        return reduce.std(self, dim, keepdim, correction, **names)
    def argmin(self, dim=None, keepdim=False, **numpy_names): return reduce.argmin(self, dim, keepdim, **numpy_names)
    def any(self, dim=None, keepdim=False): return reduce.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return reduce.all(self, dim, keepdim)
    def cumsum(self, dim): return reduce.cumsum(self, dim)
    def logsumexp(self, dim, keepdim=False): return reduce.logsumexp(self, dim, keepdim)

    # sorting (functional/sorting.py)
    def sort(self, dim=-1, descending=False, stable=False): return sorting.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return sorting.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return sorting.topk(self, k, dim, largest, sorted)  # noqa: A002

    # more elementwise math (functional/unary.py, elementwise.py)
    def sin(self): return unary.sin(self)
    def cos(self): return unary.cos(self)
    def rsqrt(self): return unary.rsqrt(self)
    def log2(self): return unary.log2(self)
    def log1p(self): return unary.log1p(self)
    def expm1(self): return unary.expm1(self)
    def floor(self): return unary.floor(self)
    def ceil(self): return unary.ceil(self)
    def round(self, decimals=0): return unary.round(self, decimals)
    def trunc(self): return unary.trunc(self)
    def sign(self): return unary.sign(self)
    def __floordiv__(self, other): return elementwise.floor_divide(self, other)
    def __rfloordiv__(self, other): return elementwise.floor_divide(other, self)
    def __mod__(self, other): return elementwise.remainder(self, other)
    def __rmod__(self, other): return elementwise.remainder(other, self)


# The ops import nothing from tensor.py at load time, so they can be bound here.
from .functional import elementwise, indexing, rearrange, reduce, sorting, unary  # noqa: E402
