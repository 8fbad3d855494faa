"""The Tensor: an array plus what autograd needs to know about it.

``data`` is a NumPy or CuPy array; ``grad`` is a Tensor (or None) filled by ``backward``;
``requires_grad`` says whether gradients flow to it; ``grad_fn`` is the Function that made it (None
for leaves: tensors made by the user, and parameters). This file holds no math.

The tensor sits below the ops in the house (backend <- tensor <- autograd <- functional): the ops
make tensors, so this file cannot import them. The operators and methods that run an op
(``x + y``, ``x.sum()``, ``x.reshape(...)``, ``x.backward()``) are written in ``tensor_methods.py``
and attached to ``Tensor`` there, once the ops exist; here is what a tensor is without them.

Talks to: ``backend.py`` (devices), ``hooks.py``, ``device_checks.py``.
"""
import numpy

from . import backend
from .device_checks import read_to_host
from .hooks import RemovableHandle

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


class Tensor:
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

    def long(self):
        return Tensor(self.data.astype(numpy.int64))

    def detach(self):
        """The same data, cut from the graph (shares memory, requires no grad)."""
        return Tensor._wrap(self.data)

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
    first = None
    for x in values:
        if isinstance(x, Tensor):
            if x.dtype.kind == "f":
                return x
            if first is None:
                first = x
    return first


def as_tensor(value, like=None) -> Tensor:
    """``value`` as a Tensor without copying; Python scalars take ``like``'s dtype and device.

    This is why ``x * 2.0`` stays float32 for a float32 ``x``: a Python number never promotes.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)):
        array = like.data
        dtype = array.dtype
        if isinstance(value, float) and dtype.kind not in "fc":
            dtype = numpy.dtype(DEFAULT_FLOAT)
        return Tensor._wrap(backend.get_array_module(array).asarray(value, dtype=dtype))
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
