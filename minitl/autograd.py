"""Reverse-mode automatic differentiation: the Function contract, grad mode, and ``backward``.

A ``Function`` is one op. Its ``forward`` runs on raw arrays (NumPy or CuPy) and its ``backward``
turns the gradient of the output into gradients of the inputs; the two stand side by side in each
op file under ``minitl/functional``.

The recording rule, in one place (``Function.apply``): a graph node is kept **only when grad mode is
on and at least one input requires grad**. Everything else runs forward and is forgotten: a frozen
backbone records no node, saves no activation and costs nothing in backward.

``run_backward`` walks the graph in topological order without recursion, sums gradients that meet
at a tensor, calls tensor hooks, accumulates into the ``.grad`` of leaves, and frees the graph
unless ``retain_graph=True``. Talks to: ``tensor.py`` (the Tensor wrapper), ``backend.py`` (arrays).
The contract an op keeps, and where this file sits in the house: ``docs/architecture.md``.
"""
import functools
import weakref

from .backend import DeviceError, device_of, get_array_module, to_device
from .tensor import Tensor, as_tensor, reference_tensor

_grad_enabled = True
# ``minitl.inspect.trace`` sets this to a function called once per backward node; None costs one check per node.
_backward_observer = None


def is_grad_enabled() -> bool:
    """Whether ops on tensors that require grad record graph nodes right now."""
    return _grad_enabled


class _GradMode:
    """Set grad mode on entering a ``with`` block and restore the previous one on leaving; also a decorator.

    The previous modes are kept on a stack, so the same object nests. As a decorator (``@no_grad()``)
    it wraps the function so that each call runs inside a fresh ``_GradMode`` of the same mode: a
    decorated function may recurse, or run in two threads, without sharing one object's stack.
    """

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

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    """Re-enable recording inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off, as ``torch.set_grad_enabled``; three ways to use it.

    A plain call, ``minitl.set_grad_enabled(False)``, switches the mode right away and for good (until
    the next call). ``with minitl.set_grad_enabled(False):`` restores the previous mode at the end of
    the block. ``@minitl.set_grad_enabled(False)`` changes nothing when decorating: the mode applies
    during each call of the function only.
    """

    def __init__(self, mode: bool):
        global _grad_enabled
        super().__init__(mode)
        self.previous.append(_grad_enabled)  # what the end of a ``with`` block goes back to
        _grad_enabled = self.mode

    def __enter__(self):
        global _grad_enabled
        _grad_enabled = self.mode  # already switched (and the previous mode saved) by __init__
        return self

    def __call__(self, function):
        global _grad_enabled
        _grad_enabled = self.previous.pop()  # decorating is not a call: undo the switch made by __init__
        return super().__call__(function)


class GraphFreedError(RuntimeError):
    """backward() went through a graph whose saved values were already freed by an earlier backward."""


def unbroadcast(grad, shape):
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1, so each copy's
    gradient must be added back: the gradient of a broadcast is a sum.
    """
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


class Function:
    """Base class of every differentiable op.

    Subclasses implement ``forward(*arrays) -> array`` and ``backward(grad) -> grad or tuple of
    grads`` (one per input, ``None`` where no gradient is needed), and may take op settings (axis,
    stride, ...) as keyword arguments of ``__init__``. Values needed by backward are saved as
    attributes in forward. ``needs_input_grad`` tells backward which gradients are wanted.
    Call an op with ``MyOp.apply(*inputs, **settings)``, never ``forward`` directly. An optional input
    given as ``None`` (a missing bias or weight) reaches forward as ``None``, needs no gradient, and its
    backward returns ``None`` for it.
    """

    inputs = None
    needs_input_grad = ()
    freed = False
    module = None  # the innermost Module whose output this node made (set by Module.__call__, read by inspect)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings):
        # This runs once per op: a 1,000-op chain pays it 1,000 times, so it does only what it must.
        fn = cls(**settings)
        tensors = inputs
        if not all([type(x) is Tensor for x in inputs]):
            like = reference_tensor(inputs)  # Python numbers take its dtype and device (no promotion)
            tensors = [x if x is None else as_tensor(x, like=like) for x in inputs]
        arrays, needs = [], []  # one pass over the inputs: each one's array, and whether it needs a gradient
        for t in tensors:
            arrays.append(None if t is None else t.data)
            needs.append(t is not None and t.requires_grad)
        if len(arrays) > 1 and len({type(a) for a in arrays if a is not None}) > 1:
            _check_one_device(cls.__name__, tensors)  # arrays of two kinds: maybe NumPy and CuPy
        needs = tuple(needs)
        # The recording rule. frozen (effect 2): a frozen layer's parameters need no grad, so below
        # the first trainable layer nothing is recorded and backward never enters the frozen prefix.
        record = _grad_enabled and True in needs
        # Set before forward, so an op can skip saving what no wanted gradient needs.
        fn.needs_input_grad = needs if record else (False,) * len(tensors)
        out = fn.forward(*arrays)
        if record:
            # An input that needs no gradient is only named, not held: the node keeps alive what some
            # backward uses (a frozen layer's output feeding an add is not kept; see UnneededInput).
            fn.inputs = tuple([t if need or t is None else UnneededInput(t) for t, need in zip(tensors, needs)])
            return Tensor._from_op(out, fn)
        return Tensor._wrap(out)  # fn and everything it saved are dropped here

    def release(self):
        """Forget inputs and saved arrays (called after backward unless retain_graph)."""
        self.__dict__.clear()
        self.freed = True

    @property
    def name(self) -> str:
        return type(self).__name__ + "Backward"


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


def set_backward_observer(observer):
    """Call ``observer(fn, grad_output, grad_inputs)`` after each node's backward (None: stop).

    Returns the previous observer.

    ``grad_inputs`` are as the op returned them, before summing broadcasts away. ``minitl.inspect.trace`` uses it.
    """
    global _backward_observer
    previous, _backward_observer = _backward_observer, observer
    return previous


def _topological_order(root):
    """Tensors reachable from ``root`` through grad-requiring inputs, outputs before inputs.

    Iterative depth-first search with an explicit stack: a 10,000-op chain needs no recursion.
    """
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


def _seed_gradient(root, grad):
    """The gradient ``backward`` starts from: checked against ``root``, as an array on ``root``'s device.

    ``grad=None`` means ones, allowed only for a one-element output (a loss).
    """
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


def run_backward(root, grad=None, retain_graph=False):
    """Fill ``.grad`` of every leaf that ``root`` depends on. See ``Tensor.backward``.

    Walk the tensors outputs-first; at each, run its hooks, keep the gradient if it is a leaf (or
    retains grad), and hand its node's input gradients down, summed where paths meet.
    """
    grad = _seed_gradient(root, grad)
    order = _topological_order(root)
    grads = {id(root): grad}
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
            continue
        in_grads = fn.backward(g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        if _backward_observer is not None:  # a minitl.inspect.trace() is recording
            _backward_observer(fn, g, in_grads)
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
    if not retain_graph:
        for tensor in order:
            if tensor.grad_fn is not None:
                tensor.grad_fn.release()
