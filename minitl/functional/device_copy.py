"""``x.to(device)`` as a recorded op: a copy to the CPU or the GPU whose gradient is copied back.

What ``Tensor.to``, ``.cpu()`` and ``.cuda()`` run (``tensor_methods.py``); the array seam's ``backend.to_device``
moves the arrays.
"""
from ..core.backend import device_of
from ..core.backend import to_device as _move
from ..core.tensor import Function


class ToDevice(Function):
    # z = x copied to another device ;  dL/dx = g copied back
    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = device_of(x)
        return _move(x, self.device)

    def backward(self, grad):
        return _move(grad, self.source)


def to_device(x, device):
    """Copy to ``"cpu"`` or ``"cuda"``, recorded so that gradients flow back to the source."""
    return ToDevice.apply(x, device=device)
