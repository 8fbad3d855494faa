"""``use_deterministic_algorithms``: bit-identical results run to run on the GPU too, as PyTorch's switch.

On NumPy everything is deterministic already. On CuPy two kinds of op minitl uses are not:
``scatter_add`` (``cupyx.scatter_add``: float atomic adds land in a different order each run), behind
the gradient of indexing (``x[idx]``) and anything else that adds into repeated indices; and running
sums and products (``functional/products_and_scans.cumulative``: ``cumsum``, ``prod``'s gradient),
which CuPy may run through CUB's scan, whose rounding is not fixed run to run. With the switch on both
run on the host instead (NumPy, in index order: one copy there and back, and a sync: slow). The
scatter-add reaches the spine through the ``gpu_scatter_add`` seam; the scans ask
``are_deterministic_algorithms_enabled()``.
Convolution and max-pool backward need no switch: on the GPU they are gather kernels, deterministic
by design (conv_cuda.py, pool_cuda.py); cuBLAS products and CUB sums give the same bits on the same GPU and shapes.
"""
import numpy

from .core import seams
from .core.backend import asnumpy, get_array_module


def use_deterministic_algorithms(mode: bool) -> None:
    """Make every op give bit-identical results run to run on the GPU too (``torch.use_deterministic_algorithms``)."""
    seams.plug("gpu_scatter_add", host_scatter_add if mode else None)


def are_deterministic_algorithms_enabled() -> bool:
    return seams.plugged_in["gpu_scatter_add"] is host_scatter_add  # the switch is what the seam holds


def host_scatter_add(target, indices, values) -> None:
    """``backend.scatter_add`` of a GPU array done on the host, in index order: the same bits every run."""
    xp = get_array_module(target)
    host = asnumpy(target)
    on_host = tuple(asnumpy(i) if hasattr(i, "shape") else i for i in indices) if isinstance(indices, tuple) \
        else asnumpy(indices) if hasattr(indices, "shape") else indices
    numpy.add.at(host, on_host, asnumpy(values) if hasattr(values, "shape") else values)
    target[...] = xp.asarray(host)
