"""What an optimizer is given: each param group's parameters, keys and hyperparameters, checked as it is added.

Every entry must be a leaf tensor (a parameter, not the result of an op) in no other group, since it would
be updated twice. A group may hold only the keys its optimizer knows (``GROUP_KEYS`` plus the optimizer's
defaults), so a misspelt ``"weight_decya"`` raises instead of silently doing nothing; every hyperparameter
must be a real number in its range, so ``lr="1e-3"`` (a string from a config file) is refused with the
line to write. ``SGD`` and ``Adam`` (with ``AdamW``) add their own rules. It plugs into the ``param_group``
seam (``core/seams.py``), which ``Optimizer.add_param_group`` calls before it changes anything;
``optim/state_dict.py`` checks a loaded group's settings with ``check_settings``.
"""
import numbers

from ..core import seams
from ..core.optim import GROUP_KEYS, SGD
from ..core.tensor import Tensor
from ..optim.adam import Adam
from ..optim.names import describe_parameter


def check_number(optimizer, name, value, below=None):
    """Refuse a hyperparameter that is not a real number >= 0 (and < ``below`` when given), naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            hint = f": write {name}={float(value)!r}, without quotes"
        except (TypeError, ValueError):
            hint = ""
        raise TypeError(f"{type(optimizer).__name__}: {name} must be a number, got {value!r} "
                        f"({type(value).__name__}){hint}")
    if not value >= 0 or (below is not None and not value < below):
        expected = f"in [0, {below})" if below is not None else ">= 0"
        raise ValueError(f"{type(optimizer).__name__}: {name} must be {expected}, got {value!r}")


def check_param_group(optimizer, group):
    """Raise a TypeError or ValueError naming the first parameter, key or hyperparameter the optimizer refuses."""
    known = {id(p) for g in optimizer.param_groups for p in g["params"]}
    for i, p in enumerate(group["params"]):
        if not isinstance(p, Tensor):
            raise TypeError(f"param group entry {i} is a {type(p).__name__}, not a Parameter/Tensor")
        if not p.is_leaf:
            raise ValueError(f"param group entry {i} is not a leaf tensor: the optimizer can only move "
                             "leaves (parameters), not results of ops")
        if id(p) in known:
            raise ValueError(f"parameter {describe_parameter(p)} appears in more than one param group")
        known.add(id(p))
    check_settings(optimizer, group)


def check_settings(optimizer, group):
    """The keys and hyperparameters of ``group``: unknown keys, numbers out of range, SGD's and Adam's rules."""
    accepted = list(GROUP_KEYS) + [key for key in optimizer.defaults if key not in GROUP_KEYS]
    unknown = [key for key in group if key not in accepted]
    if unknown:
        raise ValueError(f"{type(optimizer).__name__}: param group has unknown key(s) "
                         f"{', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}")
    check_number(optimizer, "lr", group["lr"])
    if "lr_scale" in group:
        check_number(optimizer, "lr_scale", group["lr_scale"])
    if isinstance(optimizer, SGD):
        for name in ("momentum", "dampening", "weight_decay"):
            check_number(optimizer, name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
    if isinstance(optimizer, Adam):
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{type(optimizer).__name__}: betas must be a pair (beta1, beta2), e.g. (0.9, 0.999), "
                            f"got {betas!r}")
        check_number(optimizer, "betas[0]", betas[0], below=1)
        check_number(optimizer, "betas[1]", betas[1], below=1)
        check_number(optimizer, "eps", group["eps"])
        check_number(optimizer, "weight_decay", group["weight_decay"])


seams.plug("param_group", check_param_group)
