"""Small training utilities: ``clip_grad_norm_`` (gradients), ``recalibrate_bn`` (BatchNorm statistics)."""
from .batchnorm import recalibrate_bn
from .clip_grad import clip_grad_norm_

__all__ = ["clip_grad_norm_", "recalibrate_bn"]
