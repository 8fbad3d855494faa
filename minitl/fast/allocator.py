"""Keep freed memory in the process instead of handing it back to the kernel: a deliberate, process-wide choice.

A training step allocates the same large temporaries every time (im2col columns, activations,
gradients: hundreds of KiB to tens of MiB each). glibc's malloc, by default, serves every block above
128 KiB with its own ``mmap`` and returns it to the kernel on ``free``, and trims the top of the heap
as soon as 128 KiB lie free there. So each step's arrays arrive as fresh pages, and the kernel
zero-fills every one of them on first touch (what that cost SmallCNN's step: ``benchmarks/README.md``).

``keep_freed_memory()`` raises both thresholds once, through ``ctypes``: blocks up to 32 MiB come
from the heap and, once freed, are reused by the next step; the heap is trimmed only when 512 MiB lie
free at its top. The price: the process keeps up to that much memory it no longer uses (its resident
size stays near its peak), for the whole process, NumPy's and every other library's allocations
alike. That is why it is one switch in one place, applied when ``minitl`` is imported:

- ``MINITL_KEEP_FREED_MEMORY=0`` in the environment turns it off (glibc's defaults stay);
- on a C library other than glibc (macOS, Windows, musl) it does nothing: their allocators differ.
"""
import ctypes
import ctypes.util
import os
import platform

ENV_SWITCH = "MINITL_KEEP_FREED_MEMORY"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 32 * 2 ** 20  # blocks up to this size come from (and return to) the heap
TRIM_THRESHOLD_BYTES = 512 * 2 ** 20  # free memory at the heap's top kept before giving it back

_applied = None  # None: not tried yet; afterwards True (thresholds set) or False (left alone)


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once (see the module docstring). True when they were set.

    Returns False, changing nothing, when ``$MINITL_KEEP_FREED_MEMORY`` is ``0`` (or ``false``/``no``/
    ``off``), on a C library other than glibc, or when ``mallopt`` refuses. Calling again does nothing.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; setting the mmap threshold also switches off glibc's dynamic one
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _applied


def is_applied() -> bool:
    """Whether ``keep_freed_memory`` changed the allocator in this process (the benchmark reports it)."""
    return bool(_applied)
