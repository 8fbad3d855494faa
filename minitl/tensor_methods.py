"""Tensor's operators and methods that run an op (``x + y``, ``x.sum()``, ``x.reshape(...)``), and its
conversions to NumPy and Python (``numpy.asarray(t)``, ``float(t)``, ``t == 0``, ``f"{loss:.3f}"``).

Each is one line calling the op in ``minitl.functional`` (where forward and backward stand side by
side), so ``x.gather(1, idx)`` and ``minitl.gather(x, 1, idx)`` are the same op.

Why they are not written in ``tensor.py``: imports run one way through the house, backend <- tensor
<- autograd <- functional, and the ops make Tensors, so ``tensor.py`` cannot import them. This
module sits above the ops; at the bottom it copies every method of ``TensorMethods`` onto ``Tensor``
(``minitl/__init__.py`` imports it before anything uses a tensor). DeZero does the same with its
``setup_variable``. ``TensorMethods`` is never a base class: ``type(x)`` is plain ``Tensor``.
"""
import numpy

from . import creation
from .core import backend
from .core.ops import activation, arithmetic, linalg, reduce
from .core.ops import shape as shape_ops  # not "shape": the methods take a shape
from .core.ops.reduce import normalize_dim
from .core.tensor import Tensor, tensor
from .functional import device_copy, elementwise, indexing, products_and_scans, rearrange, reductions, sorting


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
    """The methods, grouped as a reader looks for them; ``attach`` copies each onto ``Tensor``."""

    # ----- moving and copying -----
    def to(self, device=None, dtype=None):
        """A copy on ``device`` and/or with ``dtype``; the same tensor if nothing changes.

        Moving a tensor that requires grad is recorded, so gradients flow back to the original.
        """
        out = self
        if device is not None and backend.normalize_device(device) != self.device:
            out = device_copy.to_device(out, backend.normalize_device(device))
        if dtype is not None and numpy.dtype(dtype) != out.dtype:
            out = elementwise.cast(out, numpy.dtype(dtype))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=numpy.float32)

    def double(self):
        return self.to(dtype=numpy.float64)

    def clone(self):
        """A copy of the data that stays in the graph (gradient passes straight through)."""
        return elementwise.identity_copy(self)

    def size(self, dim=None):
        """The shape tuple, or the size of axis ``dim``, as ``torch.Tensor.size``; ``numel()`` counts elements."""
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim, "size")]

    # ----- conversions: NumPy, Python numbers, formatting -----
    def __array__(self, dtype=None, copy=None):
        """The data as a NumPy array, so ``numpy.asarray(t)`` is one fast copy (from the GPU if needed).

        Without it NumPy would walk the tensor element by element and build an object array.
        """
        array = backend.asnumpy(self.data)
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def tolist(self):
        return backend.asnumpy(self.data).tolist()

    def long(self) -> Tensor:
        return Tensor(self.data.astype(numpy.int64))

    # Comparisons give bool tensors without gradient; equality by value, hashing by identity.
    __hash__ = object.__hash__

    def _compare(self, other, op):
        if other is None:  # ``t == None`` is False and ``t != None`` True, as PyTorch: ``if t.grad == None`` works
            return op == "__ne__"
        other = other.data if isinstance(other, Tensor) else other
        if isinstance(other, (list, tuple, numpy.ndarray)) or backend.device_of(other) == "cuda":
            # CuPy refuses NumPy arrays and lists as operands: bring them to this tensor's device
            other = backend.to_device(other, self.device)
        return Tensor._wrap(getattr(self.data, op)(other))

    def __lt__(self, other): return self._compare(other, "__lt__")
    def __le__(self, other): return self._compare(other, "__le__")
    def __gt__(self, other): return self._compare(other, "__gt__")
    def __ge__(self, other): return self._compare(other, "__ge__")
    def __eq__(self, other): return self._compare(other, "__eq__")
    def __ne__(self, other): return self._compare(other, "__ne__")

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data.reshape(()).item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        """A one-element integer tensor used as an index: ``classes[pred]`` with ``pred = logits.argmax()``."""
        if self.data.size != 1 or self.dtype.kind not in "iu":
            raise TypeError(f"only one-element integer tensors can be used as an index, got shape {self.shape} "
                            f"and dtype {self.dtype}; use int(t) or t.long()")
        return int(self.item())

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a 0-d tensor's value; other tensors take only ``{t}`` (their repr)."""
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"format spec {spec!r} needs a 0-d tensor, got shape {self.shape}: format t.item() "
                            "or each element of t.tolist()")
        return str(self)

    # ----- operators and methods: each calls a recorded op from minitl.functional -----
    def __add__(self, other): return arithmetic.add(self, other)
    def __radd__(self, other): return arithmetic.add(other, self)
    def __sub__(self, other): return arithmetic.sub(self, other)
    def __rsub__(self, other): return arithmetic.sub(other, self)
    def __mul__(self, other): return arithmetic.mul(self, other)
    def __rmul__(self, other): return arithmetic.mul(other, self)
    def __truediv__(self, other): return arithmetic.div(self, other)
    def __rtruediv__(self, other): return arithmetic.div(other, self)
    def __pow__(self, other): return arithmetic.pow(self, other)
    def __rpow__(self, other): return arithmetic.pow(other, self)
    def __neg__(self): return arithmetic.neg(self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)
    def __getitem__(self, index): return indexing.getitem(self, index)

    def exp(self): return arithmetic.exp(self)
    def log(self): return arithmetic.log(self)
    def sqrt(self): return arithmetic.sqrt(self)
    def abs(self): return arithmetic.abs(self)
    def clip(self, min=None, max=None): return elementwise.clip(self, min, max)  # noqa: A002
    clamp = clip
    def maximum(self, other): return elementwise.maximum(self, other)
    def minimum(self, other): return elementwise.minimum(self, other)
    def relu(self): return activation.relu(self)
    def sigmoid(self): return activation.sigmoid(self)
    def tanh(self): return activation.tanh(self)
    def softmax(self, dim=None, **numpy_axis): return activation.softmax(self, dim, **numpy_axis)
    def log_softmax(self, dim=None, **numpy_axis): return activation.log_softmax(self, dim, **numpy_axis)

    # Reductions take PyTorch's ``dim``/``keepdim``; NumPy's ``axis=``/``keepdims=`` work as well.
    def sum(self, dim=None, keepdim=False, **numpy_names): return reduce.sum(self, dim, keepdim, **numpy_names)
    def mean(self, dim=None, keepdim=False, **numpy_names): return reduce.mean(self, dim, keepdim, **numpy_names)
    # max(dim) / min(dim) return (values, indices), as PyTorch; amax / amin return values only
    def max(self, dim=None, keepdim=False, **numpy_names): return reductions.max(self, dim, keepdim, **numpy_names)
    def min(self, dim=None, keepdim=False, **numpy_names): return reductions.min(self, dim, keepdim, **numpy_names)
    def amax(self, dim=None, keepdim=False, **numpy_names): return reductions.amax(self, dim, keepdim, **numpy_names)
    def amin(self, dim=None, keepdim=False, **numpy_names): return reductions.amin(self, dim, keepdim, **numpy_names)
    def argmax(self, dim=None, keepdim=False, **numpy): return reductions.argmax(self, dim, keepdim, **numpy)

    def var(self, dim=None, keepdim=False, correction=None, **names):
        return reductions.var(self, dim, keepdim, correction, **names)

    def reshape(self, *shape): return shape_ops.reshape(self, *shape)
    def view(self, *shape): return shape_ops.reshape(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return shape_ops.flatten(self, start_dim, end_dim)
    def permute(self, *axes): return shape_ops.permute(self, *axes)
    def transpose(self, dim0=-2, dim1=-1): return shape_ops.transpose(self, dim0, dim1)
    T = property(lambda self: shape_ops.permute(self, tuple(reversed(range(self.ndim)))), doc="All axes reversed.")
    def squeeze(self, dim=None, **numpy_axis): return shape_ops.squeeze(self, dim, **numpy_axis)
    def unsqueeze(self, dim=None, **numpy_axis): return shape_ops.unsqueeze(self, dim, **numpy_axis)
    def expand(self, *shape): return shape_ops.broadcast_to(self, *shape)
    broadcast_to = expand
    def split(self, split_size_or_sections, dim=None, **numpy_axis):
        return indexing.split(self, split_size_or_sections, dim, **numpy_axis)

    # rearranging (functional/rearrange.py)
    def flip(self, *positional, dims=None): return rearrange.flip(self, _dims(positional, dims))
    def roll(self, shifts, dims=None): return rearrange.roll(self, shifts, dims)
    def repeat(self, *sizes): return rearrange.repeat(self, *sizes)
    def tile(self, *positional, dims=None): return rearrange.tile(self, _dims(positional, dims))

    # indexing along an axis (core/ops/shape.py)
    def gather(self, dim, index): return indexing.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None): return indexing.scatter(self, dim, index, src, value=value)
    def scatter_add(self, dim, index, src): return indexing.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return indexing.index_select(self, dim, index)
    def masked_fill(self, mask, value): return indexing.masked_fill(self, mask, value)

    # reductions and scans (core/ops/reduce.py)
    def prod(self, dim=None, keepdim=False, **numpy_names):
        return products_and_scans.prod(self, dim, keepdim, **numpy_names)
    def std(self, dim=None, keepdim=False, correction=None, **names):
        return reductions.std(self, dim, keepdim, correction, **names)
    def argmin(self, dim=None, keepdim=False, **numpy): return reductions.argmin(self, dim, keepdim, **numpy)
    def any(self, dim=None, keepdim=False): return reductions.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return reductions.all(self, dim, keepdim)
    def cumsum(self, dim): return products_and_scans.cumsum(self, dim)
    def logsumexp(self, dim, keepdim=False): return products_and_scans.logsumexp(self, dim, keepdim)

    # sorting (functional/sorting.py)
    def sort(self, dim=-1, descending=False, stable=False): return sorting.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return sorting.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return sorting.topk(self, k, dim, largest, sorted)  # noqa: A002

    # more elementwise math (core/ops/arithmetic.py)
    def sin(self): return elementwise.sin(self)
    def cos(self): return elementwise.cos(self)
    def rsqrt(self): return elementwise.rsqrt(self)
    def log2(self): return elementwise.log2(self)
    def log1p(self): return elementwise.log1p(self)
    def expm1(self): return elementwise.expm1(self)
    def floor(self): return elementwise.floor(self)
    def ceil(self): return elementwise.ceil(self)
    def round(self, decimals=0): return elementwise.round(self, decimals)
    def trunc(self): return elementwise.trunc(self)
    def sign(self): return elementwise.sign(self)
    def __floordiv__(self, other): return elementwise.floor_divide(self, other)
    def __rfloordiv__(self, other): return elementwise.floor_divide(other, self)
    def __mod__(self, other): return elementwise.remainder(self, other)
    def __rmod__(self, other): return elementwise.remainder(other, self)

    # ----- new tensors like this one (same dtype and device unless told otherwise), as PyTorch -----
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                              requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                             requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                              requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                             requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def attach(methods, cls):
    """Copy every function and property defined in the class ``methods`` onto ``cls``."""
    bookkeeping = set(vars(type("Empty", (), {})))  # __module__, __dict__, __doc__, ...: not methods
    for name, member in vars(methods).items():
        if name not in bookkeeping:
            setattr(cls, name, member)


attach(TensorMethods, Tensor)
