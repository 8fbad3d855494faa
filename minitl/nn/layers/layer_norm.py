"""``LayerNorm`` and ``GroupNorm``: normalise each sample (its last axes, or groups of its channels); no running
statistics, any batch size."""
import numpy

from ...core.backend import default_device
from ...core.init import add_affine
from ...core.module import Module
from .. import functional as F


class GroupNorm(Module):
    """(N, C, *) -> same shape; C must divide into ``num_groups``. Per-channel ``weight`` and ``bias`` (affine).

    Notice that train() and eval() compute the same thing here, unlike BatchNorm: there is nothing
    to freeze but the two parameters.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=numpy.float32):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels {num_channels} must be divisible by num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        add_affine(self, num_channels, affine, dtype, device or default_device())

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}) expects input "
                             f"(N, {self.num_channels}, ...), got shape {tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LayerNorm(Module):
    """Normalises over the last ``len(normalized_shape)`` axes of each sample (no running statistics)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, device=None, dtype=numpy.float32):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        add_affine(self, self.normalized_shape, elementwise_affine, dtype, device or default_device())

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
