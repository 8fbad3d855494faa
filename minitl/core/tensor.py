"""The Tensor and reverse-mode autograd: what a tensor is, grad mode, the Function contract, ``backward``.

Read top to bottom:

* ``Tensor``: ``data`` is a NumPy or CuPy array; ``grad`` a Tensor (or None) filled by ``backward``;
  ``requires_grad`` says whether gradients flow to it; ``grad_fn`` is the Function that made it (None
  for leaves: tensors made by the user, and parameters).
* grad mode: one flag and one context manager that sets it (``no_grad``, ``enable_grad``,
  ``set_grad_enabled`` are its three spellings).
* ``Function``: one op. Its ``forward`` runs on raw arrays and its ``backward`` turns the gradient of
  the output into gradients of the inputs; the two stand side by side in each file of ``core/ops``.
  The recording rule, in one place (``Function.apply``): a graph node is kept **only when grad mode
  is on and at least one input requires grad**. Everything else runs forward and is forgotten: a
  frozen backbone records no node, saves no activation and costs nothing in backward.
* ``run_backward`` walks the graph in topological order without recursion, sums gradients that meet
  at a tensor, calls tensor hooks, accumulates into the ``.grad`` of leaves, and frees the graph
  unless ``retain_graph=True``.

The operators (``x + y``, ``x.sum()``) run ops, which make Tensors, so ``minitl/tensor_methods.py`` attaches
them once the ops exist. The contract an op keeps: ``docs/architecture.md``.
"""
import functools
import itertools
import weakref

import numpy

from . import backend, seams
from .backend import DeviceError, device_of, get_array_module, to_device


class RemovableHandle:
    """What ``register_hook`` (tensors) and ``register_forward_hook`` (modules) return: ``remove()`` undoes it.

    Each handle makes its own key in the owner's ordered dict of hooks, so a function registered twice
    gives two entries and each handle removes only its own: ``hooks[RemovableHandle(hooks).id] = hook``.
    """

    _next_id = itertools.count()

    def __init__(self, hooks: dict):
        self.hooks, self.id = hooks, next(RemovableHandle._next_id)

    def remove(self) -> None:  # removing twice is harmless
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


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

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
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

    def numel(self) -> int:  # the product of the shape
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
    def numpy(self) -> numpy.ndarray:
        """The data as a NumPy array (a copy from the GPU if needed). Detached from the graph."""
        return backend.asnumpy(self.data)

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        read = seams.plugged_in["host_read"]  # a device-side check may ride on this copy (seams.py)
        scalar = self.data.reshape(())
        return (backend.asnumpy(scalar) if read is None else read(scalar)).item()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, requires no grad)."""
        return Tensor._wrap(self.data)

    # ----- autograd -----
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad can only be switched off on a leaf; use detach() instead")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return replaces it.

        Returns a handle whose ``remove()`` takes the hook off again.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def backward(self, grad=None, retain_graph: bool = False) -> None:
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

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``grad`` to None, as PyTorch does by default)."""
        self.grad = None


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A leaf Tensor from a number, nested list, NumPy/CuPy array or Tensor (data is copied)."""
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
    """The raw array inside a Tensor (any other value as given), moved to ``like``'s device if ``like`` is given;
    not copied when it is already there (``batch_norm`` updates its running statistics in place through it).
    Ops use it for constants: targets, class weights, clamp bounds."""
    if value is None or isinstance(value, (bool, int, float)):
        return value  # Python numbers stay numbers: they take the dtype of the array they meet
    array = value.data if isinstance(value, Tensor) else value
    if like is None or type(array) is type(like.data):  # already there (one GPU: CuPy arrays share it)
        return array
    return backend.to_device(array, like.device)


# ----- grad mode, the Function contract, backward -----
_grad_enabled = True
last_leaf_ids = []  # id() of every leaf the last backward() accumulated a gradient into (the optimizer asks)


def is_grad_enabled() -> bool:
    """Whether ops on tensors that require grad record graph nodes right now."""
    return _grad_enabled


class _GradMode:
    """Set grad mode on entering a ``with`` block and restore the previous one on leaving (a stack, so the same
    object nests). As a decorator (``@no_grad()``) each call runs in a fresh ``_GradMode`` of the same mode, so
    a decorated function may recurse, or run in two threads, without sharing one object's stack."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.previous = []

    def __call__(self, function):
        mode = self.mode

        @functools.wraps(function)
        def run_in_mode(*args, **kwargs):
            with _GradMode(mode):
                return function(*args, **kwargs)
        return run_in_mode

    def __enter__(self):
        global _grad_enabled
        self.previous.append(_grad_enabled)
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous.pop()
        return False


class no_grad(_GradMode):
    """``with minitl.no_grad():`` (or ``@minitl.no_grad()``) records nothing: use it for evaluation."""
    def __init__(self): super().__init__(False)


class enable_grad(_GradMode):
    """Re-enable recording inside a ``no_grad`` block."""
    def __init__(self): super().__init__(True)


class set_grad_enabled(_GradMode):
    """``torch.set_grad_enabled``: a plain call switches the mode for good (until the next call), a ``with``
    block restores the previous mode at its end, and as a decorator it applies during each call only."""

    def __init__(self, mode: bool):
        super().__init__(mode)
        _GradMode.__enter__(self)  # switched at once; the previous mode is kept for a ``with`` block's end

    def __enter__(self):
        return self

    def __call__(self, function):
        _GradMode.__exit__(self)  # decorating is not a call: undo the switch made by __init__
        return super().__call__(function)


class GraphFreedError(RuntimeError):
    """backward() went through a graph whose saved values were already freed by an earlier backward."""


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1, so each copy's
    gradient must be added back: the gradient of a broadcast is a sum.
    """
    # BEGIN SOLUTION unbroadcast
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


class Function:
    """Base class of every differentiable op; call one with ``MyOp.apply(*inputs, **settings)``, never ``forward``.

    Subclasses implement ``forward(*arrays) -> array`` and ``backward(grad) -> grad or tuple of grads`` (one
    per input, ``None`` where no gradient is wanted: ``needs_input_grad`` says which), take op settings (axis,
    stride, ...) in ``__init__``, and save what backward needs as attributes in forward. An optional input
    given as ``None`` (a missing bias) reaches forward as ``None`` and gets ``None`` back.
    """

    inputs = None
    needs_input_grad = ()
    freed = False
    module = None  # the innermost Module whose output this node made (set by Module.__call__, read by inspect)
    reference = None  # on a fast twin: the reference op it stands in for (seams.register_fast_path)

    def forward(self, *arrays):  # -> an array, or a tuple of arrays
        raise NotImplementedError

    def backward(self, grad):  # -> one gradient (array or None) per input, a tuple when several
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings) -> Tensor:
        # This runs once per op: a 1,000-op chain pays it 1,000 times, so it does only what it must.
        fn = seams.fast_paths.get(cls, cls)(**settings)  # a registered faster twin, if any (seams.py)
        tensors = inputs
        for x in inputs:
            if x is not None and not isinstance(x, Tensor):  # a number or an array: make each input a Tensor
                like = reference_tensor(inputs)  # Python numbers take its dtype and device (no promotion)
                tensors = [x if x is None else as_tensor(x, like=like) for x in inputs]
                break
        arrays, needs, kinds = [], [], set()  # each input's array, whether it needs a gradient, array types
        for t in tensors:
            if t is None:
                arrays.append(None)
                needs.append(False)
            else:
                arrays.append(t.data)
                needs.append(t.requires_grad)
                kinds.add(type(t.data))
        if len(kinds) > 1:
            _check_one_device(cls.__name__, tensors)  # arrays of two kinds: maybe NumPy and CuPy
        needs = tuple(needs)
        # The recording rule. frozen (effect 2): a frozen layer's parameters need no grad, so below
        # the first trainable layer nothing is recorded and backward never enters the frozen prefix.
        # BEGIN SOLUTION recording_rule
        record = _grad_enabled and True in needs
        # END SOLUTION
        # Set before forward, so an op can skip saving what no wanted gradient needs.
        fn.needs_input_grad = needs if record else (False,) * len(tensors)
        out = fn.forward(*arrays)
        if record:
            # An input that needs no gradient is only named, not held: the node keeps alive what some
            # backward uses (a frozen layer's output feeding an add is not kept; see UnneededInput).
            kept = []
            for t, need in zip(tensors, needs):
                kept.append(t if need or t is None else UnneededInput(t))
            fn.inputs = tuple(kept)
            return Tensor._from_op(out, fn)
        return Tensor._wrap(out)  # fn and everything it saved are dropped here

    def release(self) -> None:
        """Forget inputs and saved arrays (called after backward unless retain_graph)."""
        self.__dict__.clear()
        self.freed = True

    @property
    def name(self) -> str:
        """``Conv2dBackward``: the op's name (a fast twin takes its reference's)."""
        return (self.reference or type(self)).__name__ + "Backward"


def _check_one_device(op_name, tensors):
    """Refuse inputs on different devices: NumPy and CuPy would fail with an obscure TypeError deep in forward."""
    devices = {t.device for t in tensors if t is not None}
    if len(devices) > 1:
        raise DeviceError(f"{op_name}: inputs sit on different devices ({' and '.join(sorted(map(str, devices)))}); "
                          "move them with .to(device) (model.to(...), DataLoader(..., device=...))")


class UnneededInput:
    """Stands in a recorded node for an input that needs no gradient: its shape and dtype, and a weak reference.

    No backward reads such an input (each op saves what its backward uses), so holding it would keep,
    say, a frozen base layer's output alive until backward for nothing. ``tensor`` is the input while
    something else still holds it (a parameter, the user's batch), else None; ``live(x)`` gives that
    tensor, or the stand-in itself once the input is gone. The inspection tools read shapes from it.
    """

    __slots__ = ("shape", "dtype", "_ref")
    requires_grad = False
    grad_fn = None
    grad = None

    def __init__(self, tensor):
        self.shape, self.dtype, self._ref = tensor.shape, tensor.dtype, weakref.ref(tensor)

    @property
    def tensor(self):
        return self._ref()

    @staticmethod
    def live(inp):
        """The tensor an input of ``fn.inputs`` names: the tensor itself, or the stand-in once it is gone."""
        if isinstance(inp, UnneededInput):
            held = inp.tensor
            return inp if held is None else held
        return inp


def _topological_order(root):
    """Tensors reachable from ``root`` through grad-requiring inputs, outputs before inputs.

    Iterative depth-first search with an explicit stack: a 10,000-op chain needs no recursion.
    """
    # BEGIN SOLUTION topological_order
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        # Marked when expanded, not when pushed: a tensor reached by a short and a long path must
        # come after everything on the long path, or its gradient is used before it is complete.
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        fn = tensor.grad_fn
        if fn is None:
            continue
        if fn.freed:
            raise GraphFreedError(
                "backward() reached a graph that was already freed by an earlier backward(); "
                "call the first backward(retain_graph=True) to go through the graph twice"
            )
        for inp in fn.inputs:
            if inp is not None and inp.requires_grad and id(inp) not in visited:
                stack.append((inp, False))
    order.reverse()
    return order
    # END SOLUTION


def _seed_gradient(root, grad):
    """The gradient ``backward`` starts from, checked against ``root``, on ``root``'s device; ``grad=None`` means
    ones, allowed only for a one-element output (a loss)."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation had "
            "requires_grad=True (or it ran under no_grad / with every layer frozen)"
        )
    xp = get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar (one-element) output, got shape "
                f"{root.shape}; reduce it first (e.g. loss.mean()) or pass grad=ones of that shape"
            )
        return xp.ones_like(root.data)
    # a NumPy grad for a CuPy output (or the reverse) is moved: the two never mix in an op
    if isinstance(grad, Tensor):
        grad = to_device(grad.data, device_of(root.data))
    else:
        grad = xp.asarray(grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward() grad has shape {grad.shape}, output has shape {root.shape}")
    return grad


def run_backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Fill ``.grad`` of every leaf ``root`` depends on: walk the tensors outputs-first; at each, run its hooks,
    keep the gradient if it is a leaf (or retains grad), and hand its node's input gradients down, summed."""
    global last_leaf_ids
    grad = _seed_gradient(root, grad)
    order = _topological_order(root)
    grads = {id(root): grad}
    leaf_ids = []
    for tensor in order:
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if tensor._hooks:
            for hook in list(tensor._hooks.values()):  # a hook may remove itself
                replaced = hook(Tensor._wrap(g))  # no dtype conversion: a float64 grad stays float64
                if replaced is not None:
                    g = replaced.data if isinstance(replaced, Tensor) else replaced
        fn = tensor.grad_fn
        if fn is None or tensor._retains_grad:
            tensor._accumulate_grad(g)
        if fn is None:
            leaf_ids.append(id(tensor))
            continue
        in_grads = fn.backward(g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        observer = seams.plugged_in["backward_node"]
        if observer is not None:  # a minitl.inspect.trace() is recording
            observer(fn, g, in_grads)
        for inp, needed, ig in zip(fn.inputs, fn.needs_input_grad, in_grads):
            if needed and ig is not None:
                data = inp.data
                if ig.shape != data.shape:
                    ig = unbroadcast(ig, data.shape)
                if ig.dtype != data.dtype:
                    ig = ig.astype(data.dtype)
                key = id(inp)
                previous = grads.get(key)  # gradients meeting at one tensor add up
                grads[key] = ig if previous is None else previous + ig
    last_leaf_ids = leaf_ids
    if not retain_graph:
        for tensor in order:
            if tensor.grad_fn is not None:
                tensor.grad_fn.release()
