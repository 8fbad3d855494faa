"""``minitl.cuda``: the few GPU questions a PyTorch script asks (``torch.cuda.is_available()``), and two of minitl's.

The array seam (``core/backend.py``) moves arrays between NumPy and CuPy; this module answers with PyTorch's
names, so ``device = "cuda" if minitl.cuda.is_available() else "cpu"`` works unchanged. It also checks that
CuPy's libraries work before the GPU is used (``first_operation_error``, plugged into the ``gpu_check`` seam),
and says whether an op may run its own CUDA kernels (``has_cuda_kernels``).
"""
import os

import numpy

from .core import backend, seams


def is_available() -> bool:
    """True when CuPy imports and a CUDA GPU answers (then ``.to("cuda")`` works)."""
    return backend.is_gpu_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy or a GPU). minitl itself uses the first one."""
    if not backend.is_gpu_available():
        return 0
    return int(backend.require_gpu().cuda.runtime.getDeviceCount())


def first_operation_error(cupy) -> str | None:
    """Run one tiny op of each kind minitl needs; None when all work, else why not and the pip command to fix it.

    ``cuda.is_available()`` only asks the driver. The libraries come later, on first use: a kernel
    launch needs NVRTC, a matrix product cuBLAS, a random draw cuRAND, and a CuPy wheel without its
    ``[ctk]`` extra brings none of them, so without this check the first *training* op fails deep in CuPy.
    """
    try:
        a = cupy.arange(4, dtype=numpy.float32)                                  # allocate
        total = a + a                                                            # an elementwise kernel
        total = total + (a.reshape(2, 2) @ a.reshape(2, 2)).reshape(4)           # a GEMM (cuBLAS)
        doubled = cupy.empty_like(a)
        cupy.ElementwiseKernel("T x", "T y", "y = x + x", "minitl_first_op")(a, doubled)  # compiled by NVRTC
        drawn = cupy.random.default_rng(0).random(4, dtype=numpy.float32)       # the generator minitl draws with
        check = (total + doubled + 0 * drawn).get()                              # the sync surfaces late errors
    except Exception as exc:  # missing libraries raise ImportError, RuntimeError, CuPy's own errors...
        return (f"CuPy sees a GPU but its first operation failed ({type(exc).__name__}: {exc}): a CUDA library is "
                f"missing; install them with: {ctk_install_command()}")
    host = numpy.arange(4, dtype=numpy.float32)
    if check.tolist() != (4 * host + (host.reshape(2, 2) @ host.reshape(2, 2)).reshape(4)).tolist():
        return f"CuPy's first operation gave wrong numbers ({check.tolist()}): check the CUDA install"
    return None


def ctk_install_command() -> str:
    """The pip command that adds the CUDA libraries to the CuPy wheel installed here (its ``[ctk]`` extra)."""
    import importlib.metadata  # noqa: PLC0415 - only on a failed GPU check
    for name in ("cupy-cuda13x", "cupy-cuda12x"):
        try:
            return f"pip install '{name}[ctk]=={importlib.metadata.version(name)}'"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "pip install 'minitl[gpu]' (CUDA 12) or pip install 'minitl[gpu-cuda13]' (CUDA 13)"


def has_cuda_kernels(xp) -> bool:
    """Whether ops may use their custom GPU kernels (``ElementwiseKernel``) on ``xp``'s arrays.

    True on CuPy; on the test stand-in only when it can run kernel bodies (it compiles them as C);
    never on NumPy. ``$MINITL_CUDA_KERNELS=0`` turns them off (the portable array code runs instead).
    """
    if xp is numpy or os.environ.get("MINITL_CUDA_KERNELS", "1") == "0":
        return False
    return hasattr(xp, "ElementwiseKernel")


seams.plug("gpu_check", first_operation_error)
