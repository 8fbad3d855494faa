"""Making tensors from nothing, PyTorch's way: ``zeros ones full empty arange linspace eye``, the
random ``rand randn randint randperm``, their ``*_like`` forms, ``from_numpy`` and ``as_tensor``.

Every function takes ``dtype``, ``device`` and ``requires_grad`` as in PyTorch, with PyTorch's default
dtypes: float32 for floating results, int64 for integer ones (``arange(5)``, ``randint``,
``randperm``), and ``full`` follows its fill value. Sizes are given as ``zeros(2, 3)`` or
``zeros((2, 3))``. Random numbers come from the seeded host generator (``minitl.manual_seed``), so
the same seed gives the same numbers on the CPU and on the GPU.
"""
import numpy

from .core import backend
from .core.random import get_rng
from .core.tensor import DEFAULT_FLOAT, Tensor

DEFAULT_INT = numpy.int64


def _size(size) -> tuple:
    """``(2, 3)``, ``[2, 3]`` or the ints themselves as one shape tuple."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, numpy.integer)) and not isinstance(n, bool) and n >= 0 for n in size):
        raise ValueError(f"a size is non-negative ints, e.g. zeros(2, 3) or zeros((2, 3)); got {size}")
    return tuple(int(n) for n in size)


def _made(host, dtype, device, requires_grad) -> Tensor:
    """A leaf Tensor from a host array, moved to ``device`` with ``dtype``."""
    return Tensor(host, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """All zeros, float32 by default: ``zeros(2, 3)``."""
    return _made(numpy.zeros(_size(size), dtype or DEFAULT_FLOAT), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """All ones, float32 by default."""
    return _made(numpy.ones(_size(size), dtype or DEFAULT_FLOAT), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor to be filled later. Unlike PyTorch's, its values are zeros, not leftover memory: runs repeat exactly."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _fill_dtype(fill_value):
    """PyTorch's dtype for ``full``: bool for a bool, int64 for an int, float32 for a float."""
    if isinstance(fill_value, bool):
        return numpy.dtype(bool)
    if isinstance(fill_value, (int, numpy.integer)):
        return numpy.dtype(DEFAULT_INT)
    return numpy.dtype(DEFAULT_FLOAT)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Every element ``fill_value``: ``full((2, 2), 7.0)``. The dtype follows the value (int64 for an int)."""
    dtype = dtype or _fill_dtype(fill_value)
    return _made(numpy.full(_size((size,)), fill_value, dtype), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``start, start + step, ...`` up to but not including ``end``; ``arange(5)`` is 0..4 (int64).

    Integer arguments give int64, any float argument float32, as in PyTorch.
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    integral = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
    dtype = dtype or (DEFAULT_INT if integral else DEFAULT_FLOAT)
    count = max(int(numpy.ceil((end - start) / step)), 0)
    host = start + step * numpy.arange(count, dtype=numpy.float64 if not integral else DEFAULT_INT)
    return _made(host, dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (float32)."""
    if int(steps) < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    host = numpy.linspace(start, end, int(steps))
    return _made(host, dtype or DEFAULT_FLOAT, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The (n, m) identity matrix (m defaults to n), float32."""
    return _made(numpy.eye(n, n if m is None else m), dtype or DEFAULT_FLOAT, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1), float32, from the seeded generator."""
    device = backend.normalize_device(device)
    dtype = numpy.dtype(dtype or DEFAULT_FLOAT)
    data = backend.random_array("uniform", _size(size), dtype, device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal (mean 0, standard deviation 1), float32, from the seeded generator."""
    device = backend.normalize_device(device)
    dtype = numpy.dtype(dtype or DEFAULT_FLOAT)
    data = backend.random_array("normal", _size(size), dtype, device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers in [low, high), int64: ``randint(10, (3,))`` or ``randint(2, 10, (3,))``, as PyTorch."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint needs a size: randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    host = get_rng().integers(low, high, size=_size((size,)))
    return _made(host, dtype or DEFAULT_INT, device, requires_grad)


def randperm(n, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random ordering of 0..n-1 (int64): ``x[randperm(len(x))]`` shuffles the rows."""
    return _made(get_rng().permutation(int(n)), dtype or DEFAULT_INT, device, requires_grad)


# ----- *_like: the shape (and, unless told otherwise, the dtype and device) of another tensor -----

def _like(x, dtype, device):
    return x.shape, dtype or x.dtype, device or x.device


def zeros_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002 - PyTorch's name
    """Zeros with ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, dtype, device)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Ones with ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, dtype, device)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``empty`` with ``input``'s shape, dtype and device (zeros here, see ``empty``)."""
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``fill_value`` everywhere, with ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, dtype, device)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Uniform on [0, 1) with ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, dtype, device)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Standard normal with ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, dtype, device)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(input, low, high=None, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Integers in [low, high) (or [0, low)) with ``input``'s shape, dtype and device."""
    if high is None:
        low, high = 0, low
    shape, dtype, device = _like(input, dtype, device)
    return randint(low, high, shape, dtype=dtype, device=device, requires_grad=requires_grad)


# ----- from existing arrays -----

def from_numpy(array) -> Tensor:
    """A CPU tensor that shares memory with the NumPy ``array`` and keeps its dtype, as ``torch.from_numpy``.

    Notice that a float64 array stays float64 here (``minitl.tensor`` would make float32): call
    ``.float()`` before feeding it to a float32 model. Writing into one changes the other.
    """
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}; use minitl.tensor for lists")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already has the dtype and device (``torch.as_tensor``).

    A Tensor or array keeps its dtype unless ``dtype`` is given; lists and numbers follow
    ``minitl.tensor`` (floats become float32, ints int64).
    """
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if hasattr(data, "dtype") and hasattr(data, "shape"):  # a NumPy or CuPy array
        source_device = backend.device_of(data)
        target = backend.normalize_device(device) if device is not None else source_device
        return Tensor._wrap(backend.to_device(data, target).astype(dtype or data.dtype, copy=False))
    return Tensor(data, dtype=dtype, device=device)
