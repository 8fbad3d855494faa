"""``Upsample``: resize feature maps by a factor or to a size (``F.interpolate``), nearest or bilinear."""
from ...core.module import Module
from .. import functional as F


class Upsample(Module):
    """(N, C, H, W) -> (N, C, OH, OW); give ``size`` or ``scale_factor``, as ``torch.nn.Upsample``."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
