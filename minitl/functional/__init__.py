"""The functional API, PyTorch's ``torch.nn.functional``: ``minitl.functional`` and ``minitl.nn.functional``.

The ops of the spine (``minitl/core/ops``) and, in this package's own files, the extended ones a
PyTorch user may reach for (conv1d, transposed convolution, interpolation, padding modes, distance
and probability losses, einsum, sorting, ...): each a ``Function`` with its backward beside its
forward, or a composition of ops. ``minitl.nn.functional`` is this same namespace.
"""
from ..core.ops.activation import dropout, log_softmax, relu, sigmoid, softmax, tanh
from ..core.ops.conv import conv2d
from ..core.ops.linalg import linear
from ..core.ops.loss import cross_entropy, nll_loss
from ..core.ops.norm import batch_norm
from ..core.ops.pool import adaptive_avg_pool2d, max_pool2d
from ..core.ops.shape import flatten
from .activation import (
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softplus,
)
from .avg_pool import avg_pool2d
from .conv1d import conv1d
from .conv_transpose import conv_transpose2d
from .distance_loss import l1_loss, mse_loss, smooth_l1_loss
from .embedding import embedding
from .indexing import one_hot
from .interpolate import interpolate
from .layer_norm import group_norm, layer_norm
from .pad_modes import Pad, pad_copying
from .probability_loss import binary_cross_entropy, binary_cross_entropy_with_logits, kl_div


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
