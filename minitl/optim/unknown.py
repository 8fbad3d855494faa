"""Parameters the optimizer does not know: the warning at ``step()`` and ``sync()``, which fixes it.

A head replaced after the optimizer was built has parameters in no param group: they receive a
gradient and never move. ``step()`` warns once per such parameter (``UnknownParameterWarning``);
``sync(model)`` adds them to the first group and drops the old head's parameters and state.

Both plug into the spine from here: the warning into the ``unknown_parameters`` seam (the optimizer
calls it when the last backward reached a leaf that none of its groups holds), and ``sync`` is
attached to ``Optimizer`` as a method, as ``tensor_methods.py`` attaches the tensor methods.
"""
import warnings
import weakref

from ..core import seams
from ..core.module import root_module
from ..core.optim import Optimizer
from .names import describe_parameter, optimizer_models, owner_was_lost
from .report import SyncReport


class UnknownParameterWarning(UserWarning):
    """A trainable parameter got a gradient but belongs to no param group: it will never move."""


def warn_about_unknown_parameters(self):
    """Warn once per trainable parameter of the optimizer's models that has a gradient and is in no group."""
    known = {id(p) for p in self.parameters()}
    missing = []
    for root in optimizer_models(self):
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
    roots = [model] if model is not None else optimizer_models(self)
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
                orphan = owner_was_lost(p)
            else:                # its layer still exists but was cut out of this model
                orphan = any(root_module(owner) is root for root in roots)
            if orphan:
                removed.append(describe_parameter(p))
                self.state.pop(p, None)
            else:
                keep.append(p)
        group["params"] = keep
    known = {id(p) for p in self.parameters()}
    added = [(name, p) for name, p in in_models.values() if id(p) not in known and p.requires_grad]
    self.param_groups[0]["params"].extend(p for _, p in added)
    if model is not None:
        self.remember_model(model)
    return SyncReport([name for name, _ in added], removed)


Optimizer.sync = sync  # a method of every optimizer, defined here beside the check it answers
seams.plug("unknown_parameters", warn_about_unknown_parameters)
