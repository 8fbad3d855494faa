"""``Optimizer``: the base every update rule shares — param groups, the step loop, state, reports.

An optimizer holds **param groups**: dicts with a ``"params"`` list and their own hyperparameters
(``lr``, ``weight_decay``, ...), exactly as in PyTorch, so ``optimizer.param_groups[0]["lr"] = 0.01``
works and a scheduler can change it. A subclass (``sgd.py``, ``adam.py``) only writes ``_update``:
given one parameter's array, its gradient, its state dict and the effective lr, return the update.

Everything the transfer-learning knobs change is read **at every** ``step()``, never cached when
the optimizer is built (chainer's ``UpdateRule`` lesson: a flag resolved at setup time is a flag
that silently stops working):

* ``frozen`` (effect 3, see ``nn/module.py``): a parameter with ``requires_grad == False`` is skipped
  entirely — no update, no momentum, no weight decay — and its state is dropped, so unfreezing it
  later starts from fresh moments. A parameter whose ``grad`` is None is skipped too (state kept).
* ``lr_scale``: effective lr = ``group["lr"]`` (which a scheduler sets) × ``group.get("lr_scale", 1)``
  × ``effective_lr_scale(p)`` (the product of ``lr_scale`` from the parameter's module up to the
  root). It multiplies the **update**, not the gradient, so a scale of 0.1 means "move ten times
  less" under SGD and Adam. A group's ``lr_scale`` is the PyTorch-style way to say the same thing.
* a trainable parameter that received a gradient but is in no group (a head replaced after the
  optimizer was built) triggers one ``UnknownParameterWarning`` naming it; ``sync()`` adds it.

A group accepts only the keys its optimizer knows (``GROUP_KEYS`` plus the optimizer's defaults):
a misspelt ``"weight_decya"`` raises instead of silently doing nothing.

Talks to: ``nn/module.py`` (``effective_lr_scale``, ``root_module``: names through ``owner`` / ``_parent``),
``backend.py`` (moving state between devices), ``optim/report.py`` (what the last step did).
"""
import copy
import warnings
import weakref

from .. import backend
from ..autograd import enable_grad
from ..nn.module import Module, effective_lr_scale, root_module, zero_grads
from ..tensor import Tensor
from .report import StepReport, SyncReport

required = object()  # marks a hyperparameter with no default (SGD's lr)

# Keys a param group may hold besides its optimizer's defaults: the parameters, a group-wide
# lr_scale, a label (``layerwise.param_groups``) and what the schedulers write (``lr_scheduler.py``).
GROUP_KEYS = ("params", "lr_scale", "name", "initial_lr", "max_lr", "min_lr")


class UnknownParameterWarning(UserWarning):
    """A trainable parameter got a gradient but belongs to no param group: it will never move."""


def _owner_was_lost(p):
    """True for a Parameter that had a Module once and that Module no longer exists (a dropped head)."""
    ref = getattr(p, "_owner", None)
    return ref is not None and ref() is None


def _state_on_device(state, device):
    """``state`` with its arrays on ``device``: ``model.to()`` after some steps moves the parameters, not the state."""
    for key, value in state.items():
        if getattr(value, "ndim", 0) > 0 and backend.device_of(value) != device:
            state[key] = backend.to_device(value, device)
    return state


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
                if not p.requires_grad:
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
                # A device scalar: reading it (and syncing the GPU) waits until the report is read.
                rows.append((p, index, "updated", lr, xp.sqrt(xp.sum(update * update))))
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

    # ----- parameters the optimizer does not know -----
    def _remember_root(self, module):
        """Keep a weak reference to ``module``'s model, once: the model outlives a head that is replaced."""
        root = root_module(module)
        if not any(ref() is root for ref in self._root_refs):
            self._root_refs.append(weakref.ref(root))

    def _roots(self):
        """The models the parameters came from (remembered when they were added) that still exist.

        Each is walked up again: a layer given alone may have been put into a bigger model since.
        """
        roots = []
        for module in (ref() for ref in self._root_refs):
            root = root_module(module) if module is not None else None
            if root is not None and all(root is not r for r in roots):
                roots.append(root)
        return roots

    def _names(self):
        """``{id(param): name}``: dotted names from the model where possible, else a description."""
        names = {}
        for root in self._roots():
            for name, p in root.named_parameters():
                names.setdefault(id(p), name)
        for index, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if id(p) not in names:
                    names[id(p)] = self._describe(p, fallback=f"group{index}[{i}]")
        return names

    @staticmethod
    def _describe(p, fallback="<unnamed parameter>"):
        """A parameter's dotted name in its model ("head.weight"), or what is left to say about it."""
        owner = getattr(p, "owner", None)
        if owner is not None:
            root = root_module(owner)
            for name, value in root.named_parameters():
                if value is p:
                    return name if root is not owner else f"{type(owner).__name__}.{name}"
            for attr, value in owner._parameters.items():
                if value is p:  # its layer was cut out of the model it still points to
                    return f"{type(owner).__name__}.{attr} (not in the model any more)"
        if _owner_was_lost(p):
            return f"parameter of shape {p.shape} of a deleted layer"
        return fallback

    def _warn_about_unknown_parameters(self):
        known = {id(p) for p in self.parameters()}
        missing = []
        for root in self._roots():
            for name, p in root.named_parameters():
                if id(p) in known or not p.requires_grad or p.grad is None:
                    continue
                ref = self._warned.get(id(p))
                if ref is not None and ref() is p:
                    continue
                self._warned[id(p)] = weakref.ref(p)
                missing.append(name)
        if missing:
            warnings.warn(
                f"{type(self).__name__}.step(): trainable parameter(s) {', '.join(missing)} received a gradient "
                "but are in no param group, so they will never be updated (was a layer replaced after the "
                "optimizer was built?). Call optimizer.sync(model) or optimizer.add_param_group({'params': ...}), "
                "or freeze them.", UnknownParameterWarning, stacklevel=3)

    def sync(self, model=None):
        """Bring the groups in line with the model(s): add missing trainable parameters, drop orphans.

        ``model`` defaults to the top-level Modules the optimizer's parameters belong to. Added
        parameters join the **first** group (its lr, weight decay, ...); use ``add_param_group`` for
        other settings. Orphans are parameters whose layer was removed from the model (the old
        head): they and their state go. Returns a ``SyncReport`` of names.
        """
        roots = [model] if model is not None else self._roots()
        in_models = {}
        for root in roots:
            for name, p in root.named_parameters():
                in_models.setdefault(id(p), (name, p))
        removed = []
        for group in self.param_groups:
            keep = []
            for p in group["params"]:
                owner = getattr(p, "owner", None)
                if id(p) in in_models:
                    orphan = False
                elif owner is None:  # its layer was garbage-collected: it is in no model any more
                    orphan = _owner_was_lost(p)
                else:                # its layer still exists but was cut out of this model
                    orphan = any(root_module(owner) is root for root in roots)
                if orphan:
                    removed.append(self._describe(p))
                    self.state.pop(p, None)
                else:
                    keep.append(p)
            group["params"] = keep
        known = {id(p) for p in self.parameters()}
        added = [(name, p) for name, p in in_models.values() if id(p) not in known and p.requires_grad]
        self.param_groups[0]["params"].extend(p for _, p in added)
        if model is not None:
            self._remember_root(model)
        return SyncReport([name for name, _ in added], removed)

    # ----- saving and resuming -----
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices], "param_names": [...]}]}``.

        PyTorch's layout: parameters are numbered across groups in order; arrays are copies (a later
        step does not change a saved dict). ``param_names`` (dotted names in the model, as PyTorch
        saves them for named parameters) let ``load_state_dict`` match state by name, so an
        optimizer whose group grew in another order (``sync()`` after unfreezing) still resumes.
        """
        index_of, groups, number = {}, [], 0
        names = self._names()
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = list(range(number, number + len(group["params"])))
            saved["param_names"] = [names[id(p)] for p in group["params"]]
            for p in group["params"]:
                index_of[id(p)] = number
                number += 1
            groups.append(saved)
        state = {}
        for p, entries in self.state.items():
            if id(p) in index_of:
                state[index_of[id(p)]] = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in entries.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict()``; arrays move to each parameter's device.

        Everything is checked before anything changes: the number of groups and of parameters in
        each, the hyperparameter keys (Adam's state does not load into SGD), the values
        (``_check_group``) and the shapes. Parameters are matched by name when the saved
        ``param_names`` are this group's names (in any order), by position otherwise.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state has {len(saved_groups)} param groups, this optimizer has "
                             f"{len(self.param_groups)}: build the optimizer the same way before loading")
        names = self._names()
        by_index, new_groups = {}, []
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"param group {i}: loaded state has {len(saved['params'])} parameters, "
                                 f"this optimizer has {len(mine['params'])}")
            order = mine["params"]
            mine_by_name = {names[id(p)]: p for p in order}
            if sorted(saved.get("param_names", [])) == sorted(mine_by_name):  # the same ones, maybe reordered
                order = [mine_by_name[name] for name in saved["param_names"]]
            by_index.update(zip(saved["params"], order))
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k not in ("params", "param_names")}
            missing = [key for key in self.defaults if key not in group]
            if missing:
                raise ValueError(f"param group {i}: loaded state has no {', '.join(missing)}: was it saved by "
                                 f"another optimizer than {type(self).__name__}?")
            group = {**mine, **group}  # what only this side has (a scheduler's initial_lr) stays
            try:
                self._check_group(group)
            except ValueError as exc:
                raise ValueError(f"param group {i} of the loaded state: {exc} (was it saved by another "
                                 "optimizer?)") from None
            new_groups.append(group)
        new_state = {}
        for index, entries in state_dict["state"].items():
            p = by_index.get(int(index))
            if p is None:
                raise ValueError(f"loaded state refers to parameter index {index}, which no param group has")
            restored = {}
            for key, value in entries.items():
                if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                    if tuple(value.shape) != p.shape:
                        raise ValueError(f"state '{key}' of parameter {names[id(p)]} has shape {tuple(value.shape)}, "
                                         f"the parameter has {p.shape}")
                    value = backend.to_device(value, p.device).astype(p.dtype, copy=True)
                restored[key] = value
            new_state[p] = restored
        for mine, group in zip(self.param_groups, new_groups):
            mine.update(group)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} parameters")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"
