"""Dotted names for what the inspection tools show: a module's path and a parameter's name in its model.

A module knows its parent (a weak reference kept by ``Module``), so the path is found by walking up
and asking each parent under which name it holds the child: ``backbone.block3.0``.
"""
from ..core.module import Parameter, ancestors
from ..optim.names import describe_parameter


def module_path(module) -> str:
    """``"backbone.block3.0"`` for a layer inside a model; ``""`` for the model itself or for None."""
    parts, child = [], None
    for current in ancestors(module):
        if child is not None:
            parts.append(next((name for name, m in current._modules.items() if m is child), "?"))
        child = current
    return ".".join(reversed(parts))


def parameter_name(tensor):
    """A Parameter's dotted name in its model (``"head.weight"``); None for any other tensor."""
    if not isinstance(tensor, Parameter):
        return None
    return describe_parameter(tensor)
