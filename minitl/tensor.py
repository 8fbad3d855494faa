"""The Tensor: an array plus what autograd needs to know about it.

``data`` is a NumPy or CuPy array; ``grad`` is a Tensor (or None) filled by ``backward``;
``requires_grad`` says whether gradients flow to it; ``grad_fn`` is the Function that made it (None
for leaves: tensors made by the user, and parameters). Operators and methods call the ops in
``minitl.functional``; this file holds no math.

Talks to: ``autograd.py`` (recording and backward), ``backend.py`` (devices), ``functional/``.
"""
import numpy

from . import backend
from .autograd import RemovableHandle, run_backward
from .device_checks import read_to_host
from .tensor_methods import TensorMethods

DEFAULT_FLOAT = numpy.float32


def _resolve_dtype(data, dtype):
    """float32 unless told otherwise; integer and bool data keep their type (labels stay int64)."""
    if dtype is not None:
        return numpy.dtype(dtype)
    given = data.dtype if hasattr(data, "dtype") else numpy.asarray(data).dtype
    if given.kind in "biu":
        return given
    return numpy.dtype(DEFAULT_FLOAT)


def _to_array(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        data = data.data
    if device is None:
        # a CuPy array stays on the GPU; everything else goes to the default device ($MINITL_DEVICE)
        device = "cuda" if backend.is_cupy_array(data) else backend.default_device()
    dtype = _resolve_dtype(data, dtype)
    array = backend.to_device(data, device)
    return array.astype(dtype, copy=False)


class Tensor(TensorMethods):
    """An n-dimensional array that can record the ops applied to it.

    Build one with ``minitl.tensor(data, requires_grad=...)``. Floating data becomes float32
    unless ``dtype`` says otherwise (unlike ``torch.from_numpy``, a float64 NumPy array is
    converted: float32 is the default precision here; pass ``dtype="float64"`` to keep it).
    """

    # NumPy must hand ``ndarray + Tensor`` over to Tensor.__radd__ instead of broadcasting itself.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        self.data = _to_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self.requires_grad = bool(requires_grad)
        self._hooks = {}  # ordered: RemovableHandle id -> hook
        self._retains_grad = False
        if self.requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")

    @classmethod
    def _from_op(cls, array, grad_fn):
        """Wrap an op's output without copying; ``grad_fn`` None means 'not recorded'."""
        out = cls.__new__(cls)
        out.data = array
        out.grad = None
        out.grad_fn = grad_fn
        out.requires_grad = grad_fn is not None
        out._hooks = {}
        out._retains_grad = False
        return out

    @classmethod
    def _wrap(cls, array):
        """Wrap an array as a leaf that requires no grad, without copying (an op that records nothing)."""
        return cls._from_op(array, None)

    # ----- basic properties -----
    shape = property(lambda self: tuple(self.data.shape), doc="Sizes of each axis, a tuple.")
    dtype = property(lambda self: self.data.dtype, doc="The element type (a NumPy dtype).")
    ndim = property(lambda self: self.data.ndim, doc="Number of axes.")
    device = property(lambda self: backend.device_object(self.data), doc="A minitl.device, equal to 'cpu' or 'cuda'.")
    is_leaf = property(lambda self: self.grad_fn is None, doc="Made by the user, not by a recorded op.")

    def size(self, dim=None):
        """The shape tuple, or the size of axis ``dim``, as ``torch.Tensor.size``; ``numel()`` counts elements."""
        return self.shape if dim is None else self.shape[dims.normalize_dim(dim, self.ndim, "size")]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis (use .item() for its value)")
        return self.shape[0]

    def numel(self) -> int:
        """Number of elements (the product of the shape)."""
        return int(self.data.size)

    def dim(self) -> int:
        return self.ndim

    def __repr__(self):
        body = numpy.array2string(backend.asnumpy(self.data), precision=4, separator=", ", threshold=20)
        extras = [f"shape={self.shape}", f"dtype={self.dtype}", f"device={self.device}"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    # ----- conversion -----
    def numpy(self):
        """The data as a NumPy array (a copy from the GPU if needed). Detached from the graph."""
        return backend.asnumpy(self.data)

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        # one copy, shared with any device-side check still waiting (device_checks.py)
        return read_to_host(self.data.reshape(())).item()

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

    def to(self, device=None, dtype=None):
        """A copy on ``device`` and/or with ``dtype``; the same tensor if nothing changes.

        Moving a tensor that requires grad is recorded, so gradients flow back to the original.
        """
        out = self
        if device is not None and backend.normalize_device(device) != self.device:
            out = shape_ops.to_device(out, backend.normalize_device(device))
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

    def long(self):
        return Tensor(self.data.astype(numpy.int64))

    def detach(self):
        """The same data, cut from the graph (shares memory, requires no grad)."""
        return Tensor._wrap(self.data)

    def clone(self):
        """A copy of the data that stays in the graph (gradient passes straight through)."""
        return elementwise.identity_copy(self)

    # ----- autograd -----
    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad can only be switched off on a leaf; use detach() instead")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return replaces it.

        Returns a handle whose ``remove()`` takes the hook off again.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it into ``leaf.grad``.

        Gradients **accumulate**: call ``zero_grad()`` (or set ``.grad = None``) between steps.
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        run_backward(self, grad, retain_graph)

    def _accumulate_grad(self, array):
        if self.grad is None:
            # Always a fresh copy: the array may be a read-only broadcast view, or shared with
            # another leaf's grad (z = x + y hands the same g to both).
            self.grad = Tensor._wrap(array.copy())
        else:
            self.grad = Tensor._wrap(self.grad.data + array)

    def zero_grad(self):
        """Forget the accumulated gradient (sets ``grad`` to None, as PyTorch does by default)."""
        self.grad = None

    # ----- operators and methods: each calls a recorded op from minitl.functional -----
    def __add__(self, other): return elementwise.add(self, other)
    def __radd__(self, other): return elementwise.add(other, self)
    def __sub__(self, other): return elementwise.sub(self, other)
    def __rsub__(self, other): return elementwise.sub(other, self)
    def __mul__(self, other): return elementwise.mul(self, other)
    def __rmul__(self, other): return elementwise.mul(other, self)
    def __truediv__(self, other): return elementwise.div(self, other)
    def __rtruediv__(self, other): return elementwise.div(other, self)
    def __pow__(self, other): return elementwise.pow(self, other)
    def __rpow__(self, other): return elementwise.pow(other, self)
    def __neg__(self): return elementwise.neg(self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)
    def __getitem__(self, index): return shape_ops.getitem(self, index)

    def exp(self): return elementwise.exp(self)
    def log(self): return elementwise.log(self)
    def sqrt(self): return elementwise.sqrt(self)
    def abs(self): return elementwise.abs(self)
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
    def max(self, dim=None, keepdim=False, **numpy_names): return reduce.max(self, dim, keepdim, **numpy_names)
    def min(self, dim=None, keepdim=False, **numpy_names): return reduce.min(self, dim, keepdim, **numpy_names)
    def amax(self, dim=None, keepdim=False, **numpy_names): return reduce.amax(self, dim, keepdim, **numpy_names)
    def amin(self, dim=None, keepdim=False, **numpy_names): return reduce.amin(self, dim, keepdim, **numpy_names)
    def argmax(self, dim=None, keepdim=False, **numpy_names): return reduce.argmax(self, dim, keepdim, **numpy_names)

    def var(self, dim=None, keepdim=False, correction=None, **names):
        return reduce.var(self, dim, keepdim, correction, **names)

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
        return shape_ops.split(self, split_size_or_sections, dim, **numpy_axis)

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


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """Make a leaf Tensor from a number, nested list, NumPy/CuPy array or Tensor (data is copied)."""
    if isinstance(data, Tensor):
        data = data.data.copy()
    elif hasattr(data, "copy") and hasattr(data, "dtype"):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def reference_tensor(values):
    """The tensor whose dtype and device Python numbers among ``values`` take: the first floating
    tensor, else the first tensor, else None. ``Function.apply`` and the arithmetic ops both ask."""
    given = [x for x in values if isinstance(x, Tensor)]
    return ([x for x in given if x.dtype.kind == "f"] or given or [None])[0]


def as_tensor(value, like=None) -> Tensor:
    """``value`` as a Tensor without copying; Python scalars take ``like``'s dtype and device.

    This is why ``x * 2.0`` stays float32 for a float32 ``x``: a Python number never promotes.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)):
        dtype = like.dtype
        if isinstance(value, float) and dtype.kind not in "fc":
            dtype = numpy.dtype(DEFAULT_FLOAT)
        xp = backend.get_array_module(like.data)
        return Tensor._wrap(xp.asarray(value, dtype=dtype))
    device = like.device if like is not None else None
    floating_like = like is not None and like.dtype.kind == "f"
    if hasattr(value, "dtype") and not (value.dtype.kind == "f" and floating_like):
        dtype = value.dtype  # integer and bool arrays (indices, masks) keep their type
    else:  # lists and float arrays take the dtype of the float tensor they meet: no silent float64
        dtype = like.dtype if like is not None else None
    return Tensor(value, dtype=dtype, device=device)


def data_of(value, like=None):
    """The raw array inside a Tensor (any other value as given), moved to ``like``'s device if ``like`` is given.

    Nothing is copied when the array is already there: ``batch_norm`` updates its running-statistics
    buffers in place through it. None and Python numbers pass through. Ops use it for constants:
    targets, class weights, clamp bounds.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value  # Python numbers stay numbers: they take the dtype of the array they meet
    array = value.data if isinstance(value, Tensor) else value
    return array if like is None else backend.to_device(array, like.device)


# The ops live in minitl.functional; they import this module, so they are bound last.
from .functional import activation  # noqa: E402,I001 - bound in this order, creation last
from .functional import dims  # noqa: E402
from .functional import elementwise  # noqa: E402
from .functional import linalg  # noqa: E402
from .functional import reduce  # noqa: E402
from .functional import shape as shape_ops  # noqa: E402 - not "shape": the methods take a shape
from . import creation  # noqa: E402
