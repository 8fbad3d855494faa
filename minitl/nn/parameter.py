"""``Parameter``: a Tensor that a Module registers as learnable, and that can be frozen.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``) is what makes it show
up in ``named_parameters()``, ``state_dict()`` and the optimizer. It remembers its owning module
(weakly) so that ``effective_lr_scale`` can walk from it up to the root.

Two switches, and a student should notice they are not the same (``nn/module.py`` has the whole story):

* ``requires_grad`` (PyTorch's): whether backward computes a gradient for it. Nothing else.
* ``frozen`` (minitl's, stored here and set by ``Module.frozen`` / ``freeze()``): the parameter does not
  train at all. Freezing turns ``requires_grad`` off and drops the gradient; the optimizer skips a
  frozen parameter whatever gradient it holds and forgets its state.

One invariant ties them: a frozen parameter never requires grad. Turning ``requires_grad`` on (the
PyTorch way to unfreeze) therefore lifts the freeze too; turning it off does not freeze.
"""
import weakref

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default, belongs to a Module and can be ``frozen``."""

    def __init__(self, data, requires_grad=True, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        self._frozen = False
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)
        self._owner = None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._requires_grad = bool(value)
        if self._requires_grad:
            self._frozen = False  # a frozen parameter never requires grad: asking for a gradient unfreezes it

    @property
    def frozen(self) -> bool:
        """True when this parameter does not train (set by ``Module.frozen``, ``freeze()``, ``freeze_to()``)."""
        return self._frozen

    @frozen.setter
    def frozen(self, value):
        self._frozen = bool(value)
        self._requires_grad = not self._frozen  # frozen (effect 1): no gradient for a frozen parameter
        if self._frozen:
            self.grad = None  # a stale gradient would only mislead: the optimizer never applies it (effect 3)

    @property
    def owner(self):
        """The Module this parameter was last assigned to (None if it was never assigned)."""
        return self._owner() if self._owner is not None else None

    def _set_owner(self, module):
        self._owner = weakref.ref(module)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()



def frozen_column(parameters) -> str:
    """What the "frozen" column of ``summary``, ``describe`` and the step report says about ``parameters``.

    "yes" (all frozen), "no" (all train), "no grad" (``requires_grad`` off but not frozen: PyTorch's
    idiom, which a BatchNorm in ``train()`` ignores), "partly" (a mix), "" (no parameters).
    """
    states = {"yes" if p.frozen else "no" if p.requires_grad else "no grad" for p in parameters}
    if len(states) > 1:
        return "partly"
    return states.pop() if states else ""
