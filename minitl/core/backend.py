"""The one seam between NumPy (CPU) and CuPy (GPU).

Every op gets its array module with ``xp = get_array_module(x)`` and calls ``xp.*``; nothing else in
minitl imports CuPy. Where NumPy and CuPy spell a thing differently (scatter-add, moving arrays
between devices) the difference lives in a function here, not in an ``if`` inside an op; where they
spell it the same (``xp.lib.stride_tricks.sliding_window_view``) the op calls ``xp`` directly.
The layers above this one: ``docs/architecture.md``.

CuPy is optional and imported lazily: ``import minitl`` works with no CuPy, with a broken CUDA
install, and with CuPy but no GPU. ``MINITL_DEVICE`` (``cpu`` or ``cuda``) sets the default device.
"""
import importlib
import os

import numpy

from . import seams
from .random import get_device_rng

_cupy = None          # the cupy module once imported and usable
_cupy_checked = False
_cupy_error = None    # why CuPy is unusable, for the error message
_standin = None       # a strict CuPy stand-in module for GPU-less CI (see use_gpu_standin)

GPU_INSTALL_HINT = (
    "install the GPU extra: pip install 'minitl[gpu]' (CUDA 12: cupy-cuda12x[ctk], which brings NVRTC, cuBLAS and "
    "cuRAND) or pip install 'minitl[gpu-cuda13]' (CUDA 13: cupy-cuda13x[ctk]), on a machine with an NVIDIA GPU"
)


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot provide, or arrays sit on different devices."""


def use_gpu_standin(module):
    """Test hook: ``module`` (a strict CuPy stand-in, ``tests/standin_cupy.py``) plays CuPy, None undoes it; returns
    the previous one. ``device="cuda"`` then means its arrays, so the whole GPU path runs with no GPU and every
    host/device mix-up raises as on CuPy. ``$MINITL_CUPY_STANDIN`` (a module name) does it for a whole process."""
    global _standin
    previous, _standin = _standin, module
    return previous


def _standin_from_env():
    name = os.environ.get("MINITL_CUPY_STANDIN")
    if name and _standin is None:
        use_gpu_standin(importlib.import_module(name))
    return _standin


def _load_cupy():
    """Import CuPy once; keep it only when a GPU answers (and the ``gpu_check`` seam finds it working). Never raises."""
    global _cupy, _cupy_checked, _cupy_error
    if _standin is not None or _standin_from_env() is not None:
        return _standin
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415 - optional dependency, imported on first need
            if not cupy.cuda.is_available():
                _cupy_error = "CuPy is installed but no CUDA GPU is available"
            else:
                check = seams.plugged_in["gpu_check"]  # minitl/cuda.py: the libraries a first op needs
                _cupy_error = check(cupy) if check is not None else None
                _cupy = cupy if _cupy_error is None else None
        except Exception as exc:  # a broken CUDA install fails in many ways, not only ImportError
            _cupy_error = f"CuPy could not be imported ({type(exc).__name__}: {exc})"
    return _cupy


def is_gpu_available() -> bool:
    """True when CuPy imports and a CUDA GPU is present."""
    return _load_cupy() is not None


def is_cupy_array(x) -> bool:
    """Whether ``x`` is a CuPy array (or the test stand-in's), without importing CuPy."""
    # Checked by the class's module name so that no CuPy import happens on the CPU path.
    return type(x).__module__.startswith("cupy") or (_standin is not None and isinstance(x, _standin.ndarray))


def get_array_module(*arrays):
    """``cupy`` if any argument is a CuPy array, else ``numpy``. Scalars and lists count as NumPy."""
    for a in arrays:
        if type(a) is not numpy.ndarray and is_cupy_array(a):  # a plain NumPy array answers at once
            return _load_cupy()
    return numpy


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cuda" if is_cupy_array(array) else "cpu"


def normalize_device(device) -> str:
    """Map ``None`` to the default device and check the name (``cpu``, ``cuda``, ``cuda:0``, ``gpu``)."""
    if device is None:
        device = default_device()
    name = str(device).lower()
    if name == "gpu" or name.startswith("cuda"):
        return "cuda"
    if name == "cpu":
        return "cpu"
    raise DeviceError(f"unknown device {device!r}: use 'cpu' or 'cuda'")


def default_device() -> str:
    """The device new tensors go to: ``$MINITL_DEVICE`` or ``cpu``."""
    return os.environ.get("MINITL_DEVICE", "cpu") or "cpu"


def require_gpu():
    """Return the cupy module or raise one clear error saying how to get it."""
    cupy = _load_cupy()
    if cupy is None:
        raise DeviceError(f"device 'cuda' requested but unavailable: {_cupy_error}; {GPU_INSTALL_HINT}")
    return cupy


def cupyx():
    """The ``cupyx`` module (its ``scatter_add``, kernels' helpers), imported on the GPU path only."""
    if _standin is not None:
        return _standin.cupyx
    import cupyx as module  # noqa: PLC0415 - GPU path only
    import cupyx.scipy.special  # noqa: F401,PLC0415 - erf for exact GELU
    return module


def asnumpy(x):
    """A NumPy array holding ``x`` (copied from the GPU if needed; NumPy input passes through)."""
    if is_cupy_array(x):
        return x.get()
    return numpy.asarray(x)


def to_device(x, device):
    """``x`` as an array on ``device`` (``"cpu"`` or ``"cuda"``); no copy if it is already there."""
    device = normalize_device(device)
    if device == "cpu":
        return asnumpy(x)
    cupy = require_gpu()
    return cupy.asarray(x)


def scatter_add(target, indices, values) -> None:
    """In place ``target[indices] += values`` where repeated indices all add up (``np.add.at``).

    Plain ``target[idx] += v`` keeps only one of the duplicates: the gradient of an indexing op
    needs this instead. On CuPy the adds are atomic and land in any order, unless a deterministic
    one is plugged into the ``gpu_scatter_add`` seam (``minitl/deterministic.py``).
    """
    if get_array_module(target) is numpy:
        numpy.add.at(target, indices, values)
    else:
        (seams.plugged_in["gpu_scatter_add"] or cupyx().scatter_add)(target, indices, values)


def random_array(kind: str, shape, dtype, device, low=0.0, high=1.0):
    """``uniform`` numbers in [low, high) or ``normal`` ones (mean ``low``, std ``high``) on ``device``.

    Drawn where they are used: on the CPU by the seeded host generator, on the GPU by the device
    generator seeded from the same ``manual_seed`` (``minitl.random.get_device_rng``), so a dropout
    mask never crosses the bus. The two devices give different streams for the same seed.
    """
    if kind not in ("uniform", "normal"):
        raise ValueError(f"unknown random kind {kind!r}: use 'uniform' or 'normal'")
    device = normalize_device(device)
    xp = numpy if device == "cpu" else require_gpu()
    rng = get_device_rng(xp)
    dtype = numpy.dtype(dtype)
    draw_dtype = dtype if dtype in (numpy.float32, numpy.float64) else numpy.dtype(numpy.float64)
    if xp is numpy:  # the host stream as before: float64 draws, so CPU results do not change
        draws = rng.uniform(low, high, size=shape) if kind == "uniform" else rng.standard_normal(size=shape)
    elif kind == "uniform":
        draws = rng.random(shape, dtype=draw_dtype)
    else:
        draws = rng.standard_normal(shape, dtype=draw_dtype)
    if kind == "normal":
        draws = draws * high + low
    elif xp is not numpy:
        draws = draws * (high - low) + low
    return draws.astype(dtype, copy=False)


class device(str):  # noqa: N801 - PyTorch's name
    """A device name as PyTorch spells it: ``minitl.device("cuda:0")``, ``tensor.device.type``.

    It is a ``str`` ("cpu" or "cuda"), so it compares equal to the plain names and goes wherever a
    device string goes. minitl uses one GPU, so ``"cuda:0"`` and ``"cuda"`` are the same device.
    """

    def __new__(cls, type_or_name="cpu", index=None):
        name = normalize_device(type_or_name)
        made = super().__new__(cls, name)
        made.type = name
        made.index = (0 if index is None else int(index)) if name == "cuda" else None
        return made

    def __repr__(self):
        return f"device(type='{self.type}')"


_DEVICES = {"cpu": device("cpu"), "cuda": device("cuda")}


def device_object(array) -> device:
    """The ``device`` an array sits on (one shared object per device: no allocation per call)."""
    return _DEVICES[device_of(array)]
