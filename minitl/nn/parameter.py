"""``Parameter``: a Tensor that a Module registers as learnable.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``) is what makes it show
up in ``named_parameters()``, ``state_dict()`` and the optimizer. It remembers its owning module
(weakly) so that ``effective_lr_scale`` can walk from it up to the root.
"""
import weakref

from ..core.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and belongs to a Module."""

    def __init__(self, data, requires_grad=True, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)
        self._owner = None

    @property
    def owner(self):
        """The Module this parameter was last assigned to (None if it was never assigned)."""
        return self._owner() if self._owner is not None else None

    def _set_owner(self, module):
        self._owner = weakref.ref(module)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
