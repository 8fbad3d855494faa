"""``Optimizer``: the base every update rule shares — param groups, the step loop, state, reports.

An optimizer holds **param groups**: dicts with a ``"params"`` list and their own hyperparameters
(``lr``, ``weight_decay``, ...), exactly as in PyTorch, so ``optimizer.param_groups[0]["lr"] = 0.01``
works and a scheduler can change it. A subclass (``sgd.py``, ``adam.py``) only writes ``_update``:
given one parameter's array, its gradient, its state dict and the effective lr, return the update.

Everything the transfer-learning knobs change is read **at every** ``step()``, never cached when
the optimizer is built (chainer's ``UpdateRule`` lesson: a flag resolved at setup time is a flag
that silently stops working):

* ``frozen`` (effect 3, see ``nn/module.py``): a frozen parameter (``p.frozen``) is skipped entirely —
  no update, no momentum, no weight decay, even if a gradient was left on it — and its state is
  dropped by the first ``step()`` that sees it frozen, so unfreezing it later starts from fresh
  moments (a freeze undone before any ``step()`` changes nothing). A parameter whose ``grad`` is None
  (``requires_grad = False``, PyTorch's idiom, or one that took no part in the loss) is skipped as
  PyTorch skips it: no update, no weight decay, and its state is kept for when it has a gradient again.
* ``lr_scale``: effective lr = ``group["lr"]`` (which a scheduler sets) × ``group.get("lr_scale", 1)``
  × ``effective_lr_scale(p)`` (the product of ``lr_scale`` from the parameter's module up to the
  root). It multiplies the **update**, not the gradient, so a scale of 0.1 means "move ten times
  less" under SGD and Adam. A group's ``lr_scale`` is the PyTorch-style way to say the same thing.
* a trainable parameter that received a gradient but is in no group (a head replaced after the
  optimizer was built) triggers one ``UnknownParameterWarning`` naming it; ``sync()`` adds it.

A group accepts only the keys its optimizer knows (``GROUP_KEYS`` plus the optimizer's defaults):
a misspelt ``"weight_decya"`` raises instead of silently doing nothing.

Talks to: ``nn/tree.py`` (``effective_lr_scale``), ``backend.py`` (moving state between devices),
``optim/report.py`` (what the last step did). Three concepts live in files of their own and are mixed
in: ``optim/naming.py`` (parameter names), ``optim/unknown.py`` (unknown-parameter warnings, ``sync``),
``optim/state_dict.py`` (``state_dict`` / ``load_state_dict``).
"""
from .. import backend
from ..autograd import enable_grad
from ..nn.module import Module, zero_grads
from ..nn.tree import effective_lr_scale
from ..tensor import Tensor
from .naming import ParameterNames
from .report import StepReport
from .state_dict import StateDict
from .unknown import UnknownParameters

required = object()  # marks a hyperparameter with no default (SGD's lr)

# Keys a param group may hold besides its optimizer's defaults: the parameters, a group-wide
# lr_scale, a label (``layerwise.param_groups``) and what the schedulers write (``lr_scheduler.py``).
GROUP_KEYS = ("params", "lr_scale", "name", "initial_lr", "max_lr", "min_lr")


def _state_on_device(state, device):
    """``state`` with its arrays on ``device``: ``model.to()`` after some steps moves the parameters, not the state."""
    for key, value in state.items():
        if getattr(value, "ndim", 0) > 0 and backend.device_of(value) != device:
            state[key] = backend.to_device(value, device)
    return state


_SET_MESSAGE = ("params must be an ordered collection, not a set: a set's order changes from run to run, and "
                "state_dict() numbers parameters by their order. Pass a list, or the model itself")


class Optimizer(ParameterNames, UnknownParameters, StateDict):
    """Base class. ``params``: a Module, an iterable of parameters, or a list of param-group dicts.

    ``defaults`` fills every key a group leaves out. Subclasses implement ``_update``.
    ``warn_unknown=False`` silences the unknown-parameter check (two optimizers on one model).
    """

    def __init__(self, params, defaults, warn_unknown=True):
        self.defaults = dict(defaults)
        self.state = {}             # parameter -> its own dict (momentum buffer, Adam moments, step)
        self.param_groups = []
        self.warn_unknown = warn_unknown
        self._root_refs = []        # weak references to the models the parameters came from: names and checks
        self._warned = {}           # id(param) -> weakref: warn once per unknown parameter
        self._last_report = None

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
    def add_param_group(self, group):
        """Add a dict ``{"params": ..., "lr": ..., ...}``; missing keys come from ``defaults``.

        ``params`` may be a Module, one parameter, or an iterable of parameters. A parameter that is
        already in another group raises: it would be updated twice.
        """
        if not isinstance(group, dict):
            raise TypeError(f"a param group must be a dict with a 'params' key, got {type(group).__name__}")
        group = dict(group)
        params = group.get("params")
        if isinstance(params, Module):
            self._remember_root(params)
            params = list(params.parameters())
        elif isinstance(params, Tensor):
            params = [params]
        elif params is None:
            raise ValueError("a param group needs a 'params' entry")
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"param group entry {i} is a {type(p).__name__}, not a Parameter/Tensor")
            if not p.is_leaf:
                raise ValueError(f"param group entry {i} is not a leaf tensor: the optimizer can only move "
                                 "leaves (parameters), not results of ops")
            if id(p) in known:
                raise ValueError(f"parameter {self._describe(p)} appears in more than one param group")
            known.add(id(p))
        for p in params:
            # Remember the model now: if this layer is replaced later, the model is still reachable.
            if getattr(p, "owner", None) is not None:
                self._remember_root(p.owner)
        group["params"] = params
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise ValueError(f"{type(self).__name__}: param group has no '{key}' and there is no default; "
                                 f"pass {key}=... to the optimizer or to the group")
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate one group's keys and hyperparameters; subclasses add their own checks."""
        accepted = list(GROUP_KEYS) + [key for key in self.defaults if key not in GROUP_KEYS]
        unknown = [key for key in group if key not in accepted]
        if unknown:
            raise ValueError(f"{type(self).__name__}: param group has unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"accepted: {', '.join(accepted)}")
        if not group["lr"] >= 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {group['lr']}")
        if not group.get("lr_scale", 1.0) >= 0:
            raise ValueError(f"{type(self).__name__}: a group's lr_scale must be >= 0, got {group['lr_scale']}")

    def parameters(self):
        """Every parameter of every group, in group order."""
        for group in self.param_groups:
            yield from group["params"]

    # ----- the step -----
    def _update(self, param, grad, state, group, lr):
        """Return the update array for one parameter (``param += update``). Subclasses define it.

        ``param`` and ``grad`` are raw arrays (NumPy or CuPy), ``state`` this parameter's dict
        (empty on its first step, or after it was frozen), ``lr`` the effective learning rate.
        """
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    def step(self, closure=None):
        """Apply one update to every trainable parameter that has a gradient; returns closure's loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if self.warn_unknown:
            self._warn_about_unknown_parameters()
        rows = []
        for index, group in enumerate(self.param_groups):
            for p in group["params"]:
                if getattr(p, "frozen", False):  # a plain Tensor handed to the optimizer cannot be frozen
                    # frozen (effect 3): no update, no momentum, no weight decay. Dropping the state
                    # means that unfreezing later starts from fresh moments, not stale ones.
                    self.state.pop(p, None)
                    rows.append((p, index, "frozen", None, 0.0))
                    continue
                if p.grad is None:
                    rows.append((p, index, "no grad", None, 0.0))
                    continue
                # Read every step: a scheduler changed group["lr"], a user changed lr_scale.
                lr = float(group["lr"]) * float(group.get("lr_scale", 1.0)) * effective_lr_scale(p)
                state = _state_on_device(self.state.setdefault(p, {}), p.device)
                update = self._update(p.data, p.grad.data, state, group, lr)
                p.data += update
                xp = backend.get_array_module(update)
                # ||update|| as one BLAS pass (vdot flattens; no squared copy). A device scalar:
                # reading it (and syncing the GPU) waits until the report is read.
                rows.append((p, index, "updated", lr, xp.sqrt(xp.vdot(update, update))))
        self._last_report = StepReport(rows, self._names)
        return loss

    def zero_grad(self, set_to_none=True):
        """Forget every gradient (``grad = None``; with ``set_to_none=False``, fill it with zeros)."""
        zero_grads(self.parameters(), set_to_none)

    def last_step_report(self):
        """What the last ``step()`` did to each parameter: status, effective lr, update norm.

        Print it to see a frozen layer moved by exactly 0 and a layer with ``lr_scale=0.1`` by less.
        """
        if self._last_report is None:
            raise RuntimeError("last_step_report(): step() has not been called yet")
        return self._last_report

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} parameters")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"
