"""The handle that a hook registration returns, as ``torch.utils.hooks.RemovableHandle``.

Tensors (``register_hook``) and modules (``register_forward_hook``, ``register_full_backward_hook``)
keep their hooks in an ordered dict; the handle is the key and the way to take the hook off again.
Talks to nothing: any layer may import it.
"""
import itertools


class RemovableHandle:
    """What ``register_hook`` (tensors) and ``register_forward_hook`` (modules) return: ``remove()`` undoes it.

    The hooks live in an ordered dict owned by the tensor or module; the handle makes its own key, so
    the same function registered twice gives two entries and each handle removes only its own.
    Usage: ``handle = RemovableHandle(hooks); hooks[handle.id] = hook``.
    """

    _next_id = itertools.count()

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        """Take the hook off (removing twice is harmless)."""
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False
