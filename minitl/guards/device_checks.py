"""Checks computed on the device, read on the host together with the next value the host reads anyway.

On the GPU every ``if bad.any():`` is a device->host copy that stalls the queue of kernels; one per
batch costs as much as a small layer. So a check that guards a batch (out-of-range class targets:
CuPy would silently wrap them) is queued here as a 0-d flag and the first bad value, both still on the
device, and ``read_to_host`` ships them in the *same* copy as the loss the training loop reads. On
the CPU there is no queue: the check runs at once. What a student should notice: on the GPU the
error appears at the next read (the loss of that step, or of step k with ``fit(log_every=k)``), not in
the line that computed the bad batch.

It plugs into two seams of the spine (``core/seams.py``): ``class_target`` (the loss's range check of
class targets, on the GPU) and ``host_read`` (``Tensor.item``'s copy); ``train/loop.py`` reads its
losses through ``read_to_host`` too.
"""
import numpy

from ..core import seams
from ..core.backend import asnumpy, get_array_module

_pending = {}  # key -> (flag: 0-d bool device array, first bad value: 0-d device array, make_error)


def deferred_check(key, bad, values, make_error):
    """Raise ``make_error(first bad value)`` if any of ``bad`` (a bool array) is set: now on the CPU,
    at the next ``read_to_host`` on the GPU. Checks with the same ``key`` are merged on the device
    (the earliest bad value is kept), so the queue never grows past one entry a key."""
    xp = get_array_module(bad)
    if xp is numpy:
        if bad.any():
            raise make_error(values[bad].reshape(-1)[0].item())
        return
    flat = bad.reshape(-1)
    flag, first = flat.any(), values.reshape(-1)[xp.argmax(flat)]
    if key in _pending:
        old_flag, old_first, _ = _pending[key]
        flag, first = old_flag | flag, xp.where(old_flag, old_first, first)
    _pending[key] = (flag, first, make_error)


def pending_count() -> int:
    """How many device-side checks wait for the next read (0 on the CPU)."""
    return len(_pending)


def read_to_host(array):
    """``array`` as a NumPy array, in one device->host copy shared with every pending device check.

    For small floating or integer arrays (losses, counts) the values and the checks travel as one
    float64 vector; a failed check then raises its error instead of returning.
    """
    xp = get_array_module(array)
    if xp is numpy or not _pending:
        return asnumpy(array)
    checks = list(_pending.values())
    _pending.clear()
    checks_vector = xp.concatenate([xp.stack([flag.astype(numpy.float64), first.astype(numpy.float64)])
                                    for flag, first, _ in checks])
    if array.dtype.kind == "f" or (array.dtype.kind in "biu" and array.dtype.itemsize <= 4):
        joined = asnumpy(xp.concatenate([array.reshape(-1).astype(numpy.float64), checks_vector]))
        host, flags = joined[:array.size].astype(array.dtype).reshape(array.shape), joined[array.size:]
    else:  # int64 / complex values would not survive float64: two copies (rare: losses are floats)
        host, flags = asnumpy(array), asnumpy(checks_vector)
    for (_, _, make_error), (flag, first) in zip(checks, flags.reshape(-1, 2)):
        if flag:
            raise make_error(int(first) if float(first).is_integer() else float(first))
    return host


def check_class_target_range(bad, values, make_error):
    """The ``class_target`` seam: the loss's range check, kept on the device until the next read."""
    deferred_check("class target range", bad, values, make_error)


seams.plug("class_target", check_class_target_range)
seams.plug("host_read", read_to_host)
