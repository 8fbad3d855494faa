"""RemovableHandle (minitl/hooks.py): what a hook registration returns."""
import minitl
from minitl.core.tensor import RemovableHandle


def test_removable_handle_takes_off_only_its_own_hook():
    x = minitl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    first = x.register_hook(lambda g: seen.append("first"))
    x.register_hook(lambda g: seen.append("second"))
    assert isinstance(first, RemovableHandle)
    first.remove()
    first.remove()  # twice is harmless
    (x * 2.0).sum().backward()
    assert seen == ["second"]
    hooks = {}
    with RemovableHandle(hooks) as handle:  # a module stores its forward hooks the same way
        hooks[handle.id] = print
        assert list(hooks) == [handle.id]
    assert hooks == {}
