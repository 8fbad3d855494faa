"""Names of what an optimizer holds: a parameter does not know its name, its model does.

The optimizer remembers (weakly) the models its parameters came from (``Optimizer.model_refs``,
``remember_model``); these functions walk them to name a parameter ("head.weight") in warnings, the step
report and a saved state.
"""
from ..core.module import root_module


def optimizer_models(optimizer):
    """The models the optimizer's parameters came from (remembered when they were added) that still exist.

    Each is walked up again: a layer given alone may have been put into a bigger model since.
    """
    roots = []
    for module in (ref() for ref in optimizer.model_refs):
        root = root_module(module) if module is not None else None
        if root is not None and all(root is not r for r in roots):
            roots.append(root)
    return roots


def owner_was_lost(p):
    """True for a Parameter that had a Module once and that Module no longer exists (a dropped head)."""
    ref = getattr(p, "_owner", None)
    return ref is not None and ref() is None


def describe_parameter(p, fallback="<unnamed parameter>"):
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
    if owner_was_lost(p):
        return f"parameter of shape {p.shape} of a deleted layer"
    return fallback
