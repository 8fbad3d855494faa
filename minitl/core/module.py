"""``Module``: the tree of layers, and the two transfer-learning knobs every node has.

A Module registers the Parameters, buffers and child Modules assigned to its attributes, in the
order they were assigned, and names them PyTorch-style (``features.0.weight``).

``frozen`` — one stored flag, every effect (as Keras stores ``trainable``). ``module.frozen = True``,
``freeze()``, ``freeze_to(k)`` and ``unfreeze()`` set it on the module, every module below it and every
parameter in them (``Parameter.frozen``, below); a single parameter can be set too
(BitFit trains only the biases of a frozen backbone). Reading ``module.frozen`` answers "does
nothing in here train?": True when every parameter below (and including) the module is frozen, so a
partly frozen subtree reads False; a module without parameters (ReLU, a pool) reads the flag set on it
and its descendants. ``grep -rn "frozen (effect" minitl`` shows each effect where it happens:
  1. frozen parameters get ``requires_grad = False``: no gradient is computed for them (``Parameter.frozen``);
  2. an op whose inputs all need no grad records no graph node, so backward stops at the first
     trainable layer (``Function.apply`` in ``core/tensor.py``, the recording rule). Per input, the same rule
     lets an op that is recorded skip saving what only a frozen input's gradient needs: a conv
     with a frozen weight keeps no im2col columns (``core/ops/conv.py``);
  3. the optimizer skips frozen parameters entirely: no update, momentum or weight decay, even with a
     gradient left on them, and their state is dropped, so unfreezing starts fresh (``core/optim.py``);
  4. a frozen BatchNorm uses and keeps its running statistics, even in ``train()`` (``core/layers.py``);
  5. ``summary()`` counts frozen parameters as non-trainable (``nn/summary.py``); the feature cache
     precomputes everything below the first trainable layer (``transfer/feature_cache.py``).

``requires_grad`` is *not* ``frozen``. ``p.requires_grad = False`` and ``module.requires_grad_(False)``
mean what they mean in PyTorch: no gradient, so the optimizer has nothing to apply (its state is
kept), and a BatchNorm in ``train()`` still normalises with batch statistics and updates its running
ones. Only effects 1 and 2 follow; that difference is the classic BatchNorm pitfall
(``demos/13_batchnorm_pitfall.py``). Turning ``requires_grad`` back on unfreezes a frozen parameter
(a frozen parameter never requires grad). Where each lives, and why: ``docs/architecture.md``.

``lr_scale`` — a factor on this module's learning rate. The effective scale of a parameter is the
product of ``lr_scale`` from its module up to the root (``effective_lr_scale`` below); the optimizer reads
it at every step, so changing it later takes effect.
"""
import collections
import contextlib
import warnings
import weakref
from collections.abc import Iterator

from . import backend, seams
from .tensor import RemovableHandle, Tensor

# ----- Parameter: a Tensor that a Module registers as learnable, and that can be frozen -----
# Assigning one to a module attribute (``self.weight = Parameter(...)``) puts it in ``named_parameters()``,
# ``state_dict()`` and the optimizer; it remembers its module (weakly) for ``effective_lr_scale``. Of its two
# switches, ``requires_grad`` (PyTorch's) decides only whether backward computes its gradient; ``frozen``
# (minitl's) means it does not train at all. A frozen parameter never requires grad (the docstring above).

class Parameter(Tensor):
    """A leaf Tensor that requires grad by default, belongs to a Module and can be ``frozen``."""

    def __init__(self, data, requires_grad=True, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        self._frozen = False
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)
        self._owner = None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._requires_grad = bool(value)
        if self._requires_grad:
            self._frozen = False  # a frozen parameter never requires grad: asking for a gradient unfreezes it

    @property
    def frozen(self) -> bool:
        """True when this parameter does not train (set by ``Module.frozen``, ``freeze()``, ``freeze_to()``)."""
        return self._frozen

    @frozen.setter
    def frozen(self, value):
        self._frozen = bool(value)
        self._requires_grad = not self._frozen  # frozen (effect 1): no gradient for a frozen parameter
        if self._frozen:
            self.grad = None  # a stale gradient would only mislead: the optimizer never applies it (effect 3)

    @property
    def owner(self):
        """The Module this parameter was last assigned to (None if it was never assigned)."""
        return self._owner() if self._owner is not None else None

    def _set_owner(self, module):
        self._owner = weakref.ref(module)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


# ----- the tree: a module's parents up to the root, and what is inherited down it -----
# Every Module keeps a weak reference to the module it was assigned to (``_parent``), and every
# Parameter to the module that owns it (``owner``): weak, so a layer kept alive does not keep its
# old model alive. Walking them upwards answers what a layer cannot answer alone.

def ancestors(module):
    """``module``, its parent, its parent's parent, ... up to the root (following ``_parent`` weak references)."""
    while module is not None:
        yield module
        parent = module.__dict__.get("_parent")
        module = parent() if parent is not None else None


def root_module(module):
    """The top of ``module``'s tree: the model a layer belongs to (the layer itself when it has no parent)."""
    for module in ancestors(module):
        pass
    return module


def effective_lr_scale(param) -> float:
    """The product of ``lr_scale`` of the parameter's module and of every ancestor up to the root:
    ``model.lr_scale = 0.1; model.head.lr_scale = 10`` gives the head 1.0 and the rest 0.1."""
    scale = 1.0
    for module in ancestors(param.owner if isinstance(param, Parameter) else None):
        if module.lr_scale is not None:
            scale *= float(module.lr_scale)
    return scale


# ----- Module -----

class Module:
    """Base class of every layer and model: subclass it, assign layers in ``__init__``, write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_forward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_backward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_parent", None)
        self.training = True
        self.lr_scale = None
        self._frozen = False  # this module's stored flag; its parameters carry their own (see ``frozen``)

    # ----- registration -----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)  # the property decides (``frozen``, a model's ``head``)
            return
        if isinstance(value, (Parameter, Module)):
            self._register(name, value)
        elif name in self._parameters:
            if value is not None:  # a plain Tensor here would silently stop being trained and saved
                raise TypeError(f"{type(self).__name__}.{name} is a parameter: assign an nn.Parameter "
                                f"(or None), not a {type(value).__name__}")
            self._parameters[name] = None
        elif name in self._buffers:  # updating a registered buffer keeps it registered
            self._buffers[name] = value if value is None or isinstance(value, Tensor) else Tensor(value)
        elif name in self._modules and value is None:
            self._modules[name] = None
        else:
            if name == "requires_grad":  # PyTorch's habit, and a no-op there too: the flag lives on each parameter
                warnings.warn(f"{type(self).__name__}.requires_grad = {value!r} sets a plain attribute and has no "
                              "effect: a Module has no requires_grad flag, its parameters do. Write "
                              f"module.requires_grad_({value!r}) to set it on every parameter below, or "
                              "module.freeze() / unfreeze() to freeze (what transfer learning usually means)",
                              UserWarning, stacklevel=2)
            for store in (self._parameters, self._buffers, self._modules):
                store.pop(name, None)
            object.__setattr__(self, name, value)

    def _register(self, name, value):
        """Put a Parameter or a Module in its registry. A name that is already there keeps its
        place, so replacing ``seq[0]`` or ``model.block1`` keeps the order forward runs in."""
        if isinstance(value, Parameter):
            value._set_owner(self)
            target = self._parameters
        else:
            object.__setattr__(value, "_parent", weakref.ref(self))
            target = self._modules
        for store in (self._parameters, self._buffers, self._modules):
            if store is not target:
                store.pop(name, None)
        target[name] = value
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        for store in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(store)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """Register a non-learnable array (BatchNorm's running mean) that is saved in ``state_dict``."""
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value)
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    def register_parameter(self, name: str, value) -> None:
        if value is None:
            self._parameters[name] = None
        elif not isinstance(value, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter({name!r}): expected an nn.Parameter, "
                            f"got {type(value).__name__}")
        else:
            self._register(name, value)

    def add_module(self, name: str, module) -> None:
        """Register ``module`` as the child ``name`` (what ``self.name = module`` does)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(self).__name__}.add_module({name!r}): {type(module).__name__} is not a Module")
        if module is None:
            self._modules[name] = None
        else:
            self._register(name, module)

    # ----- traversal (deterministic: definition order) -----
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, depth first, each once, with dotted names."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def _named_members(self, registry):
        seen = set()
        for module_name, module in self.named_modules():
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, Parameter)`` for every parameter, shared ones once."""
        return self._named_members("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers")

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    # ----- calling -----
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        check = seams.plugged_in["root_call"]
        if check is not None and self.__dict__.get("_parent") is None:  # a whole model, called by the user:
            # a guard looks at what it is fed, unless that is only floating tensors into a model that knows
            # no input statistics (shipped weights bring theirs: raw 0-255 pixels are worth a look)
            for value in args:
                if not isinstance(value, Tensor) or value.dtype.kind != "f" \
                        or self.__dict__.get("input_normalization"):
                    check(self, args)
                    break
        watch = seams.plugged_in["module_backward_hooks"](self, args) if self._backward_hooks else None
        if watch is not None:
            args = watch.args
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        fn = getattr(out, "grad_fn", None)
        if fn is not None and fn.module is None:
            fn.module = self  # the innermost module that made this node: the module path in a backward trace
        return out if watch is None else watch.wrap_output(out)

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward (a non-None return replaces the output);
        returns a handle with ``remove()``. Capture activations: ``lambda m, i, o: saved.append(o)``."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` in backward (PyTorch's signature; ``nn/backward_hooks.py``);
        returns a handle. Watch the gradient reaching a layer: ``lambda m, gi, go: print(go[0].norm())``."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    # ----- modes, devices, gradients -----
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout on, BatchNorm batch statistics). Does not undo ``frozen``."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    @contextlib.contextmanager
    def mode(self, training: bool) -> Iterator["Module"]:
        """``with model.mode(training=False):`` — this module and all below it in that mode inside the
        block; afterwards every module gets its own mode back (a model half in eval mode stays so)."""
        saved = [(m, m.training) for m in self.modules()]
        self.train(training)
        try:
            yield self
        finally:
            for module, was_training in saved:
                module.training = was_training

    def to(self, device) -> "Module":
        """Move parameters, their gradients and buffers to ``device`` ('cpu' or 'cuda'), in place."""
        device = backend.normalize_device(device)
        for t in list(self.parameters()) + list(self.buffers()):
            t.data = backend.to_device(t.data, device)
            if t.grad is not None:
                t.grad.data = backend.to_device(t.grad.data, device)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def _cast_floating(self, dtype):
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.kind == "f":  # num_batches_tracked stays int64
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad.data = t.grad.data.astype(dtype)
        return self

    def float(self):
        """Floating parameters and buffers to float32, in place."""
        return self._cast_floating("float32")

    def double(self):
        """Floating parameters and buffers to float64, in place (what ``gradcheck`` needs)."""
        return self._cast_floating("float64")

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """PyTorch's: set ``requires_grad`` on every parameter below. ``False`` does not freeze (see ``frozen``)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, then on this module (custom initialisation)."""
        for _, module in reversed(list(self.named_modules())):
            fn(module)
        return self

    def get_submodule(self, target):
        """The module at a dotted path (``"backbone.block2.0"``); ``""`` is this module."""
        module = self
        for part in filter(None, target.split(".")):
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking for {target!r})")
            module = module._modules[part]
        return module

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``grad = None``; with ``set_to_none=False``, fill them with zeros)."""
        zero_grads(self.parameters(), set_to_none)

    # ----- frozen -----
    @property
    def frozen(self) -> bool:
        """True when nothing in this module trains: every parameter below (and including) it is frozen; for a
        module without parameters (ReLU, a pool), the flag set on it and below it."""
        params = list(self.parameters())
        if params:
            return all(p.frozen for p in params)
        return all(m._frozen for m in self.modules())

    @frozen.setter
    def frozen(self, value):
        # stored on this module, every module below it and all their parameters
        value = bool(value)
        for m in self.modules():
            object.__setattr__(m, "_frozen", value)
        for p in self.parameters():
            p.frozen = value  # effects 1 (no gradient) and 3 (the optimizer skips it) hang off this flag

    def freeze(self) -> "Module":
        """Freeze this module and all below it; returns self."""
        self.frozen = True
        return self

    def unfreeze(self) -> "Module":
        self.frozen = False
        return self

    def blocks(self):
        """The model's ordered blocks, input to head, that ``freeze_to`` counts. Default: children."""
        return [m for m in self.children() if m is not None]

    def freeze_to(self, k: int) -> "Module":
        """Freeze the first ``k`` blocks and unfreeze the rest (fastai's ``freeze_to``; ``k`` may be negative).

        ``k`` must leave at least one block to train (``k < len(blocks())``, an error otherwise, not a
        silently frozen head); ``freeze()`` freezes everything on purpose, ``freeze_to(0)`` trains everything.
        """
        blocks = self.blocks()
        if blocks and k >= len(blocks):
            names = ", ".join(f"{i}: {name}" for i, name in enumerate(
                next((n for n, m in self.named_modules() if m is b), type(b).__name__) for b in blocks))
            raise ValueError(f"{type(self).__name__}.freeze_to({k}): the model has {len(blocks)} blocks ({names}), "
                             f"so this would freeze every block, the head too, and leave nothing to train. "
                             f"freeze_to({len(blocks) - 1}) trains only the last block (the head); freeze() "
                             "freezes everything on purpose")
        frozen_ids = {id(b) for b in blocks[:k]}
        for b in blocks:
            b.frozen = id(b) in frozen_ids
        return self

    # ----- state: every parameter and buffer under its dotted name (named_tensors, below) -----
    def state_dict(self) -> "collections.OrderedDict[str, object]":
        """An ordered ``{name: array}`` of parameters then buffers per module, PyTorch's key order."""
        return collections.OrderedDict((name, tensor.data) for name, tensor in named_tensors(self).items())

    def load_state_dict(self, state_dict, strict: bool = True, **options):
        """Copy arrays into this model's parameters and buffers by name; returns a ``LoadReport``.

        ``strict=True`` raises one error listing every missing / unexpected / mismatched key and
        changes nothing; ``strict=False`` loads what fits and reports the rest. Dtype and device of
        each parameter are kept. More options (prefix, ignore, key_map): ``minitl.io.load_into``.
        """
        return seams.required("load_state_dict", "minitl.io")(self, state_dict, strict=strict, **options)

    def load(self, path, **options):
        """Load a weight file (minitl .npz, .pt/.pth, .safetensors, Keras .h5, .onnx), the format chosen by its
        extension; the same options and report as ``load_state_dict``."""
        return seams.required("load_state_dict", "minitl.io")(self, path, **options)

    # ----- printing -----
    def summary(self, input_shape, device=None, print_table=None):
        """Keras-style table: name, type, output shape, parameters, trainable, frozen, lr_scale (``nn/summary.py``).

        ``input_shape`` with or without the batch axis: ``(1, 28, 28)`` and ``(8, 1, 28, 28)`` both work
        for a model taking images (the batch axis becomes 1 when it is missing). The table is returned, and
        printed unless ``print_table=False``; by default not in a notebook, where the returned table shows itself.
        """
        summarize = seams.required("summary", "minitl.nn.summary")
        return summarize(self, input_shape, device=device, print_table=print_table)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        flags = []
        if self.frozen and list(self.parameters()):
            flags.append("frozen")
        if self.lr_scale is not None:
            flags.append(f"lr_scale={self.lr_scale}")
        tail = f"  # {', '.join(flags)}" if flags else ""
        if len(lines) == 1:
            return lines[0] + ")" + tail
        return "\n".join(lines) + "\n)" + tail


def zero_grads(parameters, set_to_none=True):
    """``grad = None`` for each parameter (or, with ``set_to_none=False``, its gradient filled with 0): gradients
    accumulate across backward calls, so a training step starts here (``Module``'s and ``Optimizer``'s)."""
    for p in parameters:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad.data[...] = 0


def named_tensors(model):
    """``{dotted name: Tensor}`` of every parameter then buffer per module, a tied tensor under each name."""
    tensors = collections.OrderedDict()
    for module_name, module in model.named_modules():
        for registry in (module._parameters, module._buffers):
            for name, tensor in registry.items():
                if tensor is not None:
                    tensors[f"{module_name}.{name}" if module_name else name] = tensor
    return tensors
