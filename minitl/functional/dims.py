"""Checking and normalising ``dim`` arguments, one rule for every op (PyTorch's).

A tensor of ``ndim`` axes accepts ``dim`` in ``[-ndim, ndim - 1]``; anything else is an
``IndexError`` ("Dimension out of range"), never a silent wrap-around (``dim % ndim`` would turn
``sum(2)`` on a matrix into ``sum(0)``). A 0-d tensor behaves as if it had one axis: ``dim`` 0 and
-1 are accepted and name "the whole tensor". Ops that insert an axis (``unsqueeze``, ``stack``)
check against ``ndim + 1``. Talks to nothing: reductions, shape ops and softmax import it.
"""


def normalize_dim(dim, ndim: int, op: str = "") -> int:
    """``dim`` as an index in ``[0, max(ndim, 1))``, or IndexError naming the allowed range."""
    size = max(ndim, 1)  # a 0-d tensor takes dim 0 and -1, as in PyTorch
    if isinstance(dim, bool) or not isinstance(dim, int):
        try:
            dim = dim.__index__()  # NumPy integers, 0-d integer tensors
        except AttributeError:
            raise TypeError(f"{op or 'dim'}: dim must be an int, got {dim!r}") from None
    if not -size <= dim < size:
        where = f"{op}: " if op else ""
        raise IndexError(f"{where}Dimension out of range (expected to be in range of [{-size}, {size - 1}], "
                         f"but got {dim}) for a tensor with {ndim} dimension{'s' if ndim != 1 else ''}")
    return dim % size


def normalize_dims(dims, ndim: int, op: str = "") -> tuple:
    """``None`` (every axis), an int or a sequence of ints as a sorted tuple of real axes of an ``ndim`` array.

    Repeated axes are an error, as in PyTorch. For a 0-d tensor the result is ``()``: there is no axis
    to reduce, and reducing "the whole tensor" leaves it unchanged.
    """
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int) or hasattr(dims, "__index__"):
        dims = (dims,)
    axes = [normalize_dim(d, ndim, op) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op or 'dim'}: dim {tuple(dims)} names an axis more than once")
    return tuple(sorted(axes)) if ndim else ()
