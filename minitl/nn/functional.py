"""PyTorch-style functional API: ``from minitl.nn import functional as F``.

Everything here is an op from ``minitl.functional`` (forward and backward side by side there);
this module only gathers the names a PyTorch user expects.
"""
from ..functional.activation import (
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from ..functional.conv import conv2d
from ..functional.conv1d import conv1d
from ..functional.conv_transpose import conv_transpose2d
from ..functional.distance_loss import l1_loss, smooth_l1_loss
from ..functional.dropout import dropout
from ..functional.embedding import embedding
from ..functional.group_norm import group_norm
from ..functional.indexing import one_hot
from ..functional.interpolate import interpolate
from ..functional.linalg import linear
from ..functional.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from ..functional.max_pool import max_pool2d
from ..functional.norm import batch_norm, layer_norm
from ..functional.pad_modes import pad_copying
from ..functional.pool import adaptive_avg_pool2d, avg_pool2d
from ..functional.probability_loss import binary_cross_entropy, kl_div
from ..functional.shape import Pad, flatten


def pad(x, pad, mode="constant", value=None):  # noqa: A002 - PyTorch's name
    """PyTorch's form: ``pad=(left, right, top, bottom, ...)``, last axis first, constant ``value``.

    ``mode="reflect"``, ``"replicate"`` or ``"circular"`` fill with the input's own pixels instead
    (``functional/pad_modes.py``).
    """
    if mode != "constant":
        return pad_copying(x, pad, mode)
    value = 0.0 if value is None else value
    if len(pad) % 2:
        raise ValueError(f"pad needs pairs (before, after) per axis, got {pad}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"pad has {len(pad) // 2} (before, after) pairs but the input has only {x.ndim} axes "
                         f"(shape {tuple(x.shape)}): give at most one pair per axis, last axis first")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, widths=tuple(widths), value=value)  # NumPy's form: one (before, after) pair per axis


__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "conv1d", "conv2d", "conv_transpose2d", "cross_entropy", "dropout", "elu", "embedding", "flatten", "gelu",
    "group_norm", "hardsigmoid", "hardswish", "hardtanh", "interpolate", "kl_div", "l1_loss", "layer_norm",
    "leaky_relu", "linear", "log_softmax", "logsigmoid", "max_pool2d", "mish", "mse_loss", "nll_loss", "one_hot",
    "pad", "relu", "relu6", "selu", "sigmoid", "silu", "smooth_l1_loss", "softmax", "softplus", "tanh",
]
