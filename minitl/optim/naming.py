"""How an optimizer names its parameters: dotted names from the model they came from.

A parameter does not know its name; its model does. The optimizer keeps a weak reference to each
model its parameters came from (``_remember_root``), so that a report, a warning or a saved state
can say ``head.weight`` rather than ``group0[3]`` -- even after the head was replaced.

Talks to: ``nn/tree.py`` (``root_module``: names through ``owner`` / ``_parent``), ``optim/optimizer.py``
(the ``Optimizer`` that mixes this in).
"""
import weakref

from ..nn.tree import root_module


def _owner_was_lost(p):
    """True for a Parameter that had a Module once and that Module no longer exists (a dropped head)."""
    ref = getattr(p, "_owner", None)
    return ref is not None and ref() is None


class ParameterNames:
    """Mixin of ``Optimizer``: the models its parameters came from and the names they have there."""

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
