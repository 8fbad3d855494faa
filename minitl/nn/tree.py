"""A module's place in its tree: the chain of parents up to the root, and what is inherited down it.

Every Module keeps a weak reference to the module it was assigned to (``_parent``, set by
``Module._register``), and every Parameter to the module that owns it (``owner``). Walking those
links upwards answers the questions a layer cannot answer alone: which model it belongs to
(``root_module``) and how fast it learns (``effective_lr_scale``, the product of ``lr_scale`` from
its module up to the root). Weak references, so a layer kept alive does not keep its old model alive.
"""
from .parameter import Parameter


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
    """Multiply ``lr_scale`` of the parameter's module and of every ancestor up to the root.

    ``model.lr_scale = 0.1; model.head.lr_scale = 10`` gives the head 1.0 and the rest 0.1.
    """
    scale = 1.0
    for module in ancestors(param.owner if isinstance(param, Parameter) else None):
        if module.lr_scale is not None:
            scale *= float(module.lr_scale)
    return scale
