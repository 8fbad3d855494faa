"""Containers: ``Sequential`` (run children in order), ``ModuleList`` and ``ModuleDict``.

Slicing a Sequential (``model.features[:2]``) gives a *view*: a new Sequential over the same
layers, which stay owned by the original model (their ``lr_scale`` still multiplies up through it).
"""
import collections

from ..module import Module


class _Ordered(Module):
    """Children kept in order under the names '0', '1', ... (or given names)."""

    def __init__(self, modules=()):
        super().__init__()
        if isinstance(modules, (dict, collections.OrderedDict)):
            for name, m in modules.items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    @classmethod
    def _view(cls, named):
        """A container over existing modules that does not take ownership of them."""
        view = cls()
        for name, m in named:
            view._modules[name] = m
        return view

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return type(self)._view(items[index])
        return items[index][1]

    def __setitem__(self, index, module):
        name = list(self._modules.keys())[index]
        self.add_module(name, module)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class Sequential(_Ordered):
    """Apply each child to the output of the previous one: ``Sequential(Conv2d(...), ReLU(), ...)``.

    Accepts modules as arguments or one ordered dict of ``name: module``. Its ``blocks()`` (for
    ``freeze_to``) are its children.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (dict, collections.OrderedDict)):
            modules = modules[0]
        super().__init__(modules)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_Ordered):
    """A list of modules whose parameters are registered (a plain Python list would hide them)."""

    def __init__(self, modules=()):
        super().__init__(list(modules))


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self.add_module(name, m)

    def __getitem__(self, name):
        return self._modules[name]

    def __setitem__(self, name, module):
        self.add_module(name, module)

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
