"""``minitl.cuda``: the few GPU questions a PyTorch script asks (``torch.cuda.is_available()``).

Everything device-related lives in ``backend.py``; this module only answers with PyTorch's names, so
``device = "cuda" if minitl.cuda.is_available() else "cpu"`` works unchanged.
"""
from .core import backend


def is_available() -> bool:
    """True when CuPy imports and a CUDA GPU answers (then ``.to("cuda")`` works)."""
    return backend.is_gpu_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy or a GPU). minitl itself uses the first one."""
    if not backend.is_gpu_available():
        return 0
    return int(backend.require_gpu().cuda.runtime.getDeviceCount())
