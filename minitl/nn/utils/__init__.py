"""Small training utilities: ``clip_grad_norm_`` (gradients), ``recalibrate_bn`` (BatchNorm statistics)."""
from .clip_grad import clip_grad_norm_
from .batchnorm import recalibrate_bn

__all__ = ["clip_grad_norm_", "recalibrate_bn"]
