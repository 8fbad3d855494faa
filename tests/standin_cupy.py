"""A strict CuPy stand-in: "device" arrays that wrap NumPy arrays and refuse to be NumPy.

CI machines have no GPU, so a host/device mix-up in minitl (``numpy.asarray`` on a CuPy array, a NumPy
array in a CuPy op, ``float(loss)`` every step) would only show on a real GPU. This module behaves like
CuPy exactly where the difference bites, and runs everything else on NumPy:

- ``numpy.asarray(x)``, ``numpy.array(x)``, ``__array__``, ``numpy.testing`` and NumPy printing of a
  stand-in array raise ``TypeError`` (CuPy's "Implicit conversion to a NumPy array is not allowed");
- an op mixing a stand-in array with a NumPy array (``x + numpy_array``, ``standin.where(m, x, numpy_array)``)
  raises ``TypeError`` as CuPy does; Python and NumPy *scalars* are fine, as on CuPy;
- ``float``/``int``/``bool`` work on 0-d arrays only (a sync on CuPy); reductions return 0-d arrays,
  never NumPy scalars;
- ``cumsum`` / ``cumprod`` of floats group their products differently each call (CuPy runs them through CUB's
  scan, whose rounding is not fixed run to run);
- iteration yields device sub-arrays, as CuPy's does; there is no ``__index__`` (CuPy has none: ``range(n)``
  or ``list[i]`` with a 0-d device array raises ``TypeError``);
- ``.get()``, ``asnumpy``, ``.item()``, ``.tolist()``, ``float()`` and printing count one device->host
  copy each in ``COUNTS.device_to_host``; ``asarray`` of host data counts a host->device copy.

Only CuPy's names are exposed (``asarray``, ``zeros``, ..., ``asnumpy``, ``random``, ``lib.stride_tricks``,
``cupyx.scatter_add`` as ``cupyx``), so minitl code calling something CuPy lacks fails here too.
Select it with ``minitl.backend.use_gpu_standin(module)`` (the ``device`` fixture's ``standin`` value).
"""
import builtins
import sys
import types

import numpy

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")


class Counts:
    """Device<->host copies seen since the last ``reset()``."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.device_to_host = 0
        self.host_to_device = 0
        self.event_waits = 0


COUNTS = Counts()


def _unwrap(value, where):
    """Stand-in arrays -> their NumPy array; NumPy arrays -> TypeError (CuPy rejects them); recurse into lists."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"Unsupported type {numpy.ndarray} (a NumPy array passed to {where} on the device)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrap(value):
    if isinstance(value, numpy.ndarray):
        return ndarray(value)
    if isinstance(value, numpy.generic) and not isinstance(value, numpy.dtype):
        return ndarray(numpy.asarray(value))  # CuPy returns 0-d arrays, not NumPy scalars
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_function(function, name):
    def call(*args, **kwargs):
        args = _unwrap(args, name)
        kwargs = {k: _unwrap(v, name) for k, v in kwargs.items()}
        return _wrap(function(*args, **kwargs))
    call.__name__ = name
    return call


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a NumPy array inside, no implicit way out."""

    __array_priority__ = 100

    def __init__(self, array):
        self._a = array

    # ----- the ways out: explicit, counted -----
    def get(self, stream=None, order="C", out=None, blocking=True):
        COUNTS.device_to_host += 1
        return numpy.array(self._a, order=order)

    def item(self):
        COUNTS.device_to_host += 1
        return self._a.item()

    def tolist(self):
        COUNTS.device_to_host += 1
        return self._a.tolist()

    def tobytes(self, order="C"):
        COUNTS.device_to_host += 1
        return self._a.tobytes(order)

    def _scalar(self, kind):
        if self._a.ndim != 0:
            raise TypeError(f"{kind}() of a {self._a.ndim}-d device array (shape {self._a.shape}): only 0-d arrays "
                            "convert; use .item() on a one-element array")
        COUNTS.device_to_host += 1
        return getattr(builtins, kind)(self._a)

    def __float__(self):
        return self._scalar("float")

    def __int__(self):
        return self._scalar("int")

    def __bool__(self):
        if self._a.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous.")
        COUNTS.device_to_host += 1
        return bool(self._a)

    def __repr__(self):
        COUNTS.device_to_host += 1
        return repr(self._a)

    def __str__(self):
        COUNTS.device_to_host += 1
        return str(self._a)

    def __format__(self, spec):
        if self._a.ndim == 0:
            COUNTS.device_to_host += 1
            return format(self._a.item(), spec)
        return object.__format__(self, spec)

    # ----- the ways out CuPy refuses -----
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __getattr__(self, name):
        if name.startswith("__array") or name in ("ctypes", "data", "__buffer__"):
            raise AttributeError(name)  # no buffer or array-interface door into NumPy
        attribute = getattr(self._a, name)
        if callable(attribute):
            return _device_function(attribute, f"ndarray.{name}")
        return _wrap(attribute)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # NumPy ufuncs forward to the device (as CuPy's do) unless a NumPy array is among the operands.
        inputs = _unwrap(inputs, f"numpy.{ufunc.__name__}")
        kwargs = {k: _unwrap(v, f"numpy.{ufunc.__name__}") for k, v in kwargs.items()}
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        mine = globals().get(func.__name__)
        if mine is None:
            raise TypeError(f"numpy.{func.__name__} has no device version: call the array module's function")
        return mine(*args, **kwargs)

    # ----- array basics -----
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: ndarray(self._a.T))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (ndarray(row) for row in self._a)

    def __getitem__(self, index):
        return _wrap(self._a[_wrap_around(_index(index), self._a.shape)])

    def __setitem__(self, index, value):
        index = _wrap_around(_index(index), self._a.shape)
        if isinstance(value, numpy.ndarray):
            COUNTS.host_to_device += 1  # CuPy copies a NumPy value over
            self._a[index] = value
        else:
            self._a[index] = _unwrap(value, "__setitem__")

    def set(self, arr, stream=None):
        """Host -> this array (CuPy: asynchronous when ``arr`` is pinned and a stream is given)."""
        if not isinstance(arr, numpy.ndarray) or arr.shape != self._a.shape:
            raise ValueError("set() needs a NumPy array of the same shape")
        COUNTS.host_to_device += 1
        self._a[...] = arr

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        return (ndarray, (self._a.copy(),))


def _index(index):
    """CuPy accepts NumPy integer/bool arrays as indices (copying them over), and device arrays."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, ndarray):
        return index._a
    if isinstance(index, numpy.ndarray):
        COUNTS.host_to_device += 1
    return index


def _wrap_around(index, shape):
    """CuPy does not check integer-array indices: out-of-range ones wrap around silently. So here too."""
    parts = index if isinstance(index, tuple) else (index,)
    if builtins.any(p is None or p is Ellipsis for p in parts) or len(parts) > len(shape):
        return index
    wrapped = tuple(p % shape[axis] if isinstance(p, numpy.ndarray) and p.dtype.kind in "iu" and shape[axis] else p
                    for axis, p in enumerate(parts))
    return wrapped if isinstance(index, tuple) else wrapped[0]


def _operator(name):
    def method(self, *others):
        others = _unwrap(others, f"ndarray.{name}")
        return _wrap(getattr(self._a, name)(*others))
    method.__name__ = name
    return method


def _inplace(name):
    def method(self, other):
        getattr(self._a, name)(_unwrap(other, f"ndarray.{name}"))
        return self
    method.__name__ = name
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "lshift", "rshift"):
    setattr(ndarray, f"__{_name}__", _operator(f"__{_name}__"))
    setattr(ndarray, f"__r{_name}__", _operator(f"__r{_name}__"))
    setattr(ndarray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _operator(f"__{_name}__"))
ndarray.__hash__ = None


# ----- the module's functions: CuPy's names only (they shadow builtins here: write builtins.any etc.) -----

def asarray(a, dtype=None, order=None):
    """Host data -> device (counted); a device array passes through."""
    if isinstance(a, ndarray):
        return a if dtype is None else ndarray(a._a.astype(dtype, copy=False))
    if isinstance(a, (list, tuple)) and builtins.any(isinstance(v, ndarray) for v in a):
        out = stack([asarray(v) for v in a])  # noqa: F821 - bound from _DEVICE_FUNCTIONS below
        return out if dtype is None else out.astype(dtype)
    COUNTS.host_to_device += 1
    return ndarray(numpy.array(a, dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(obj, ndarray):
        return ndarray(numpy.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    COUNTS.host_to_device += 1
    return ndarray(numpy.array(obj, dtype=dtype, order=order, ndmin=ndmin))


asanyarray = asarray


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """Device -> host (counted); anything else goes through ``numpy.asarray``."""
    if isinstance(a, ndarray):
        return a.get(order=order)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    return _module if builtins.any(isinstance(a, ndarray) for a in args) else numpy


_DEVICE_FUNCTIONS = """
zeros ones empty full zeros_like ones_like empty_like full_like arange linspace eye identity tri
ascontiguousarray reshape transpose moveaxis swapaxes squeeze expand_dims broadcast_to ravel
concatenate stack vstack hstack split array_split pad tile repeat flip roll take take_along_axis
put_along_axis where clip sum prod mean var std max min amax amin argmax argmin cumsum cumprod
any all einsum dot vdot matmul tensordot outer sort argsort nonzero flatnonzero unique isin count_nonzero
allclose array_equal isclose bincount tril triu diag diagonal trace round around sign rint floor ceil trunc
atleast_1d atleast_2d broadcast_arrays meshgrid searchsorted copyto indices ix_ result_type can_cast
""".split()
# ufuncs keep their methods (``add.at``, ``maximum.reduce``) through _DeviceUfunc
_UFUNCS = """
add subtract multiply divide true_divide floor_divide power negative positive abs absolute fabs exp expm1
exp2 log log1p log2 log10 sqrt square reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh
arcsinh arccosh arctanh maximum minimum fmax fmin logaddexp logaddexp2 isfinite isinf isnan signbit
greater greater_equal less less_equal equal not_equal logical_and logical_or logical_not logical_xor
bitwise_and bitwise_or bitwise_xor invert left_shift right_shift mod remainder fmod hypot copysign
""".split()


class _DeviceUfunc:
    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _device_function(self._ufunc, self.__name__)(*args, **kwargs)

    def at(self, a, indices, b=None):
        target = _unwrap(a, f"{self.__name__}.at")
        self._ufunc.at(target, _index(indices) if not isinstance(indices, tuple) else _index(indices),
                       *(() if b is None else (_unwrap(b, f"{self.__name__}.at"),)))

    def reduce(self, *args, **kwargs):
        return _device_function(self._ufunc.reduce, f"{self.__name__}.reduce")(*args, **kwargs)


_SCAN_ORDER = numpy.random.default_rng()  # unseeded on purpose: the grouping changes run to run, as on the GPU


def _unordered_scan(ufunc, name):
    """``cumsum`` / ``cumprod`` as CuPy runs them through CUB's scan: tiles scanned on their own, each tile's
    carry added in when it is ready, so which partial sums meet first -- the float rounding -- changes from
    run to run. Here the tile boundaries are drawn at random each call: the same input can give other bits."""
    def scan(a, axis=None, dtype=None, out=None):
        if out is not None:
            raise TypeError(f"the stand-in's {name} takes no out=")
        a = _unwrap(a, name)
        if axis is None:
            a, axis = a.reshape(-1), 0
        a = numpy.moveaxis(numpy.asarray(a, dtype=dtype), axis, -1)
        size = a.shape[-1]
        if a.dtype.kind not in "fc" or size < 3:  # integers add exactly in any order
            return ndarray(numpy.moveaxis(ufunc.accumulate(a, axis=-1), -1, axis))
        cuts = numpy.sort(_SCAN_ORDER.choice(numpy.arange(1, size), size=builtins.min(size - 1, 8), replace=False))
        pieces, carry = [], None
        for piece in numpy.split(a, cuts, axis=-1):
            piece = ufunc.accumulate(piece, axis=-1)
            piece = piece if carry is None else ufunc(carry[..., None], piece)
            pieces.append(piece)
            carry = piece[..., -1]
        return ndarray(numpy.moveaxis(numpy.concatenate(pieces, axis=-1), -1, axis))
    scan.__name__ = name
    return scan


cumsum = _unordered_scan(numpy.add, "cumsum")
cumprod = _unordered_scan(numpy.multiply, "cumprod")
ndarray.cumsum = lambda self, axis=None, dtype=None, out=None: cumsum(self, axis, dtype, out)
ndarray.cumprod = lambda self, axis=None, dtype=None, out=None: cumprod(self, axis, dtype, out)


def _install():
    names = globals()
    for name in _DEVICE_FUNCTIONS:
        if name not in names:
            names[name] = _device_function(getattr(numpy, name), name)
    for name in _UFUNCS:
        names[name] = _DeviceUfunc(getattr(numpy, name))
    # dtypes, constants and dtype helpers are NumPy's own on CuPy too
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "bool_", "complex64", "complex128", "dtype", "finfo", "iinfo", "issubdtype",
                 "integer", "floating", "number", "generic", "inf", "nan", "pi", "e", "newaxis", "ndim", "isscalar",
                 "shape", "size"):
        names[name] = getattr(numpy, name)


_install()


def _sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    return ndarray(numpy.lib.stride_tricks.sliding_window_view(_unwrap(x, "sliding_window_view"), window_shape,
                                                               axis=axis, writeable=writeable))


def _as_strided(x, shape=None, strides=None):
    return ndarray(numpy.lib.stride_tricks.as_strided(_unwrap(x, "as_strided"), shape=shape, strides=strides))


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(sliding_window_view=_sliding_window_view,
                                                                as_strided=_as_strided))


class Generator:
    """CuPy's ``random.Generator``: only the methods CuPy 14 has (no ``normal``, ``permutation``, ``choice``)."""

    def __init__(self, seed=None):
        self._rng = numpy.random.default_rng(seed)

    def random(self, size=None, dtype=numpy.float64, out=None):
        return ndarray(numpy.asarray(self._rng.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        return ndarray(numpy.asarray(self._rng.standard_normal(size, dtype=dtype)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=numpy.float64):
        return ndarray(numpy.asarray(self._rng.uniform(low, high, size)).astype(dtype))

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        return ndarray(numpy.asarray(self._rng.integers(low, high, size, dtype=dtype, endpoint=endpoint)))


random = types.SimpleNamespace(default_rng=Generator, Generator=Generator)


def scatter_add(a, slices, value):
    """``cupyx.scatter_add``: ``a[slices] += value`` with every duplicate index adding up."""
    numpy.add.at(_unwrap(a, "scatter_add"), _index(slices), _unwrap(value, "scatter_add"))


def _empty_pinned(shape, dtype=numpy.float64, order="C"):
    """``cupyx.empty_pinned``: a NumPy array in page-locked host memory (plain host memory here)."""
    return numpy.empty(shape, dtype, order)


def _erf(x):
    """``cupyx.scipy.special.erf`` (exact GELU), elementwise through Python's ``math.erf``."""
    import math  # noqa: PLC0415
    a = _unwrap(x, "erf")
    return ndarray(numpy.frompyfunc(math.erf, 1, 1)(a).astype(a.dtype))


cupyx = types.SimpleNamespace(scatter_add=scatter_add, empty_pinned=_empty_pinned,
                              scipy=types.SimpleNamespace(special=types.SimpleNamespace(erf=_erf)))


class _Event:
    def __init__(self):
        self.done = True

    def synchronize(self):
        COUNTS.event_waits += 1


class _Stream:
    def record(self, event=None):
        return event or _Event()

    def synchronize(self):
        pass


# CuPy's ElementwiseKernel, its CUDA C body compiled as C on the CPU (absent without a C compiler)
from standin_kernels import ElementwiseKernel  # noqa: E402, F401 - part of this module's CuPy names

_STREAM = _Stream()
# cuda.runtime: the questions minitl.cuda and benchmarks/gpu_check.sh ask (one pretend GPU, CUDA 12.9)
runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0,
                                getDeviceProperties=lambda device: {"name": b"CuPy stand-in (no GPU)",
                                                                    "major": 8, "minor": 0},
                                runtimeGetVersion=lambda: 12090, driverGetVersion=lambda: 12090)
cuda = types.SimpleNamespace(get_current_stream=lambda: _STREAM, Event=_Event, Stream=_Stream,
                             is_available=lambda: True, runtime=runtime)
__version__ = "14.2.0"  # the CuPy release whose behaviour this stand-in copies

_module = sys.modules[__name__]
