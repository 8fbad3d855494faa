"""The local derivative of an op, as the one-line math comment written beside its forward and backward.

Every op class in ``minitl/functional`` starts with a comment such as
``# z = x * y ;  dz/dx = y, dz/dy = x``. The trace and the step viewer show that very line, read
from the source file, so the formula a student sees can never drift from the code's own comment.
"""
import functools
import inspect

from ..core.tensor import Function


@functools.lru_cache(maxsize=None)
def local_formula(op_class) -> str:
    """The first ``# ...`` comment of the op's class (or of a base class), its lines joined; ``""`` where there
    is none. A long formula continues on the next comment lines."""
    for cls in op_class.__mro__:
        if cls is Function or cls is object:
            break
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):  # defined in a notebook cell or an interactive session
            continue
        comment = []
        for line in source.splitlines()[1:]:
            stripped = line.strip()
            if stripped.startswith("#"):
                comment.append(stripped.lstrip("#").strip())
            elif comment or stripped.startswith(("def ", "class ")):
                break
        if comment:
            return " ".join(comment)
    return ""
