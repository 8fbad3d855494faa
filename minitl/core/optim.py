"""``Optimizer``: the base every update rule shares — param groups, the step loop, state, reports.

An optimizer holds **param groups**: dicts with a ``"params"`` list and their own hyperparameters
(``lr``, ``weight_decay``, ...), exactly as in PyTorch, so ``optimizer.param_groups[0]["lr"] = 0.01``
works and a scheduler can change it. An update rule (``SGD`` below) only writes ``_update``:
given one parameter's array, its gradient, its state dict and the effective lr, return the update.

Everything the transfer-learning knobs change is read **at every** ``step()``, never cached when
the optimizer is built (chainer's ``UpdateRule`` lesson: a flag resolved at setup time is a flag
that silently stops working):

* ``frozen`` (effect 3, see ``core/module.py``): a frozen parameter (``p.frozen``) is skipped entirely —
  no update, no momentum, no weight decay, even if a gradient was left on it — and its state is
  dropped by the first ``step()`` that sees it frozen, so unfreezing it later starts from fresh
  moments (a freeze undone before any ``step()`` changes nothing). A parameter whose ``grad`` is None
  (``requires_grad = False``, PyTorch's idiom, or one that took no part in the loss) is skipped as
  PyTorch skips it: no update, no weight decay, and its state is kept for when it has a gradient again.
* ``lr_scale``: effective lr = ``group["lr"]`` (which a scheduler sets) × ``group.get("lr_scale", 1)``
  × ``effective_lr_scale(p)`` (the product of ``lr_scale`` from the parameter's module up to the
  root). It multiplies the **update**, not the gradient, so a scale of 0.1 means "move ten times
  less" under SGD and Adam. A group's ``lr_scale`` is the PyTorch-style way to say the same thing.

Wings plug in at four seams (``core/seams.py``). Guards check each param group as it is added
(``param_group``: a misspelt ``"weight_decya"`` or ``lr="1e-3"`` raises) and warn when the last backward
reached a trainable parameter that no group holds, a head replaced after the optimizer was built
(``unknown_parameters``: ``optim/unknown.py``, whose ``sync()`` adds it); ``state_dict()`` and
``load_state_dict()`` are ``optim/state_dict.py``'s (``optimizer_state``); ``last_step_report()`` is
``optim/report.py``'s (``step_report``), built from the rows the last ``step()`` kept (parameter, group,
status, effective lr, update array: those arrays stay alive until the next step).

``SGD`` follows, PyTorch's equations mirrored line by line in ``_update`` (momentum, dampening, Nesterov,
L2 weight decay). ``Adam`` and ``AdamW``, written the same way, are a wing: ``optim/adam.py``.
"""
import weakref
from collections.abc import Iterator

from . import backend, seams
from . import tensor as autograd
from .module import Module, effective_lr_scale, root_module, zero_grads
from .tensor import Tensor, enable_grad

required = object()  # marks a hyperparameter with no default (SGD's lr)

# Keys a param group may hold besides its optimizer's defaults: the parameters, a group-wide
# lr_scale, a label (``layerwise.param_groups``) and what the schedulers write (``lr_scheduler.py``).
GROUP_KEYS = ("params", "lr_scale", "name", "initial_lr", "max_lr", "min_lr")


_SET_MESSAGE = ("params must be an ordered collection, not a set: a set's order changes from run to run, and "
                "state_dict() numbers parameters by their order. Pass a list, or the model itself")


class Optimizer:
    """Base class. ``params``: a Module, an iterable of parameters, or a list of param-group dicts.

    ``defaults`` fills every key a group leaves out. Subclasses implement ``_update``.
    ``warn_unknown=False`` silences the unknown-parameter check (two optimizers on one model).
    """

    def __init__(self, params, defaults, warn_unknown=True):
        self.defaults = dict(defaults)
        self.state = {}             # parameter -> its own dict (momentum buffer, Adam moments, step)
        self.param_groups = []
        self.warn_unknown = warn_unknown
        self.model_refs = []        # weak references to the models the parameters came from: names and checks
        self._warned = {}           # id(param) -> weakref: the unknown-parameter guard warns once per parameter
        self._last_step = None      # rows of the last step, for last_step_report()
        self.steps_taken = 0        # calls of step(): a scheduler warns when it is stepped before the first one

        if isinstance(params, Module):
            groups = [{"params": params}]
        elif isinstance(params, Tensor):
            raise TypeError("params must be a Module, an iterable of parameters or of param-group dicts, "
                            "not a single Tensor: wrap it in a list")
        elif isinstance(params, dict):
            groups = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            groups = list(params)
            if groups and not isinstance(groups[0], dict):
                groups = [{"params": groups}]
        if not groups:
            raise ValueError("the optimizer got an empty parameter list")
        for group in groups:
            self.add_param_group(group)

    # ----- param groups -----
    def add_param_group(self, group: dict) -> None:
        """Add a dict ``{"params": ..., "lr": ..., ...}``; missing keys come from ``defaults``.

        ``params`` may be a Module, one parameter, or an iterable of parameters; a parameter already in
        another group is refused (``guards/optimizer_settings.py``): it would be updated twice.
        """
        if not isinstance(group, dict):
            raise TypeError(f"a param group must be a dict with a 'params' key, got {type(group).__name__}")
        group = dict(group)
        params = group.get("params")
        given = params  # a Module is remembered itself too: its names come first (it may share another's layers)
        if isinstance(params, Module):
            params = list(params.parameters())
        elif isinstance(params, Tensor):
            params = [params]
        elif params is None:
            raise ValueError("a param group needs a 'params' entry")
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        group["params"] = params
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise ValueError(f"{type(self).__name__}: param group has no '{key}' and there is no default; "
                                 f"pass {key}=... to the optimizer or to the group")
            group.setdefault(key, value)
        check = seams.plugged_in["param_group"]  # a guard refuses what cannot be trained, naming it, before any change
        if check is not None:
            check(self, group)
        if isinstance(given, Module):
            self.remember_model(given)
        for p in params:  # remember each model now: if this layer is replaced later, the model is still reachable
            if getattr(p, "owner", None) is not None:
                self.remember_model(p.owner)
        self.param_groups.append(group)

    def parameters(self) -> Iterator[Tensor]:
        """Every parameter of every group, in group order."""
        for group in self.param_groups:
            yield from group["params"]

    # ----- the step -----
    def _update(self, param, grad, state, group, lr):
        """The update array for one parameter (``param += update``), from raw arrays (NumPy or CuPy), its state dict
        (empty on its first step, or after it was frozen) and the effective lr. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    def step(self, closure=None):  # -> the closure's loss, or None
        """Apply one update to every trainable parameter that has a gradient; returns closure's loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        rows, held = [], set()
        for index, group in enumerate(self.param_groups):
            for p in group["params"]:
                held.add(id(p))
                # frozen (effect 3): no update, no momentum, no weight decay. Dropping the state
                # means that unfreezing later starts from fresh moments, not stale ones.
                # BEGIN SOLUTION sgd_step
                if getattr(p, "frozen", False):  # a plain Tensor handed to the optimizer cannot be frozen
                    self.state.pop(p, None)
                    rows.append((p, index, "frozen", None, None))
                    continue
                if p.grad is None:
                    rows.append((p, index, "no grad", None, None))
                    continue
                # Read every step: a scheduler changed group["lr"], a user changed lr_scale.
                lr = float(group["lr"]) * float(group.get("lr_scale", 1.0)) * effective_lr_scale(p)
                # END SOLUTION
                state = self.state.setdefault(p, {})
                for key, value in state.items():  # model.to() after some steps moved the parameter, not its state
                    if getattr(value, "ndim", 0) > 0 and type(value) is not type(p.data):
                        state[key] = backend.to_device(value, backend.device_of(p.data))
                update = self._update(p.data, p.grad.data, state, group, lr)
                p.data += update
                rows.append((p, index, "updated", lr, update))
        self._last_step = rows
        self.steps_taken += 1
        guard = seams.plugged_in["unknown_parameters"]
        if guard is not None and self.warn_unknown:
            for leaf_id in autograd.last_leaf_ids:  # the last backward reached a leaf that no group holds
                if leaf_id not in held:
                    guard(self)
                    break
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient (``grad = None``; with ``set_to_none=False``, fill it with zeros)."""
        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def last_step_report(self):
        """What the last ``step()`` did to each parameter: status, effective lr, update norm.

        Print it to see a frozen layer moved by exactly 0 and a layer with ``lr_scale=0.1`` by less.
        """
        if self._last_step is None:
            raise RuntimeError("last_step_report(): step() has not been called yet")
        return seams.required("step_report", "minitl.optim.report")(self, self._last_step)

    # ----- the models: a parameter does not know its name, its model does (optim/names.py asks them) -----
    def remember_model(self, module):
        """Keep a weak reference to ``module``'s model, once: the model outlives a head that is replaced."""
        root = root_module(module)
        if not any(ref() is root for ref in self.model_refs):
            self.model_refs.append(weakref.ref(root))

    # ----- saving and resuming, in PyTorch's layout: optim/state_dict.py, plugged into the optimizer_state seam -----
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices], "param_names": [...]}]}``."""
        return seams.required("optimizer_state", "minitl.optim").save(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict()``; checked before anything changes."""
        seams.required("optimizer_state", "minitl.optim").load(self, state_dict)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} parameters")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"


# ----- SGD -----
# ``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.
#
# The update equations are PyTorch's (so one step matches ``torch.optim.SGD`` on the same gradients):
#
#     g = grad + weight_decay * p                       # L2 weight decay, folded into the gradient
#     buf = g  (first step)   buf = momentum * buf + (1 - dampening) * g   (later steps)
#     d = g + momentum * buf  (nesterov)   d = buf  (classical momentum)   d = g  (momentum 0)
#     p = p - lr_eff * d
#
# ``lr_eff`` is the group's lr times the parameter's ``lr_scale`` product (``Optimizer.step``): the
# scale multiplies the whole update, weight decay included. Notice that momentum is *state*: a frozen
# parameter must not keep it, or it would drift on stale velocity after unfreezing — the base class
# drops it.

class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)``; ``params`` as ``Optimizer``'s.
    State per parameter: ``momentum_buffer`` (same shape as the parameter) when momentum > 0."""

    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 warn_unknown=True):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults, warn_unknown=warn_unknown)

    def _update(self, param, grad, state, group, lr):
        # BEGIN SOLUTION sgd_step
        momentum, weight_decay = float(group["momentum"]), float(group["weight_decay"])
        if weight_decay != 0:
            grad = grad + weight_decay * param                     # g = grad + wd * p
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()       # buf = g on the first step
            else:
                buf *= momentum                                    # buf = m * buf + (1 - dampening) * g
                dampening = float(group["dampening"])
                buf += grad if dampening == 0 else (1.0 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        return -lr * grad                                          # p = p - lr_eff * d
        # END SOLUTION
