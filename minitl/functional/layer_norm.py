"""Per-sample normalisation: layer norm (over each sample's last axes) and group norm (over groups of channels).

Both are the spine's ``Normalize`` (``core/ops/norm.py``: the same closed-form backward as batch norm)
over other axes, with no running statistics. Group norm, as ``torch.nn.functional.group_norm``: the C
channels are split into G groups; each (sample, group) is normalised with its own mean and variance,
then each channel gets its own scale and shift. It is layer norm on a reshaped tensor (N, G, C/G * H * W),
so the forward and backward are layer norm's. Unlike batch norm it does not depend on the batch: it
works with a batch of one, which is why detection and segmentation models fine-tuned with small batches use it.
"""
from ..core.ops.norm import Normalize


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002 - PyTorch's name
    """x: (N, C, *) with C divisible by ``num_groups``; weight, bias: (C,) -> same shape as x.

    G = 1 normalises all channels together (layer norm over C, H, W); G = C normalises each channel
    alone (instance norm).
    """
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: the input's channel axis (shape {tuple(input.shape)}) must divide into "
                         f"num_groups={num_groups} groups")
    n, c = input.shape[:2]
    grouped = input.reshape(n, num_groups, -1)
    y = layer_norm(grouped, grouped.shape[2:], eps=eps).reshape(*input.shape)
    param_shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(*param_shape)
    if bias is not None:
        y = y + bias.reshape(*param_shape)
    return y


class LayerNorm(Normalize):
    # y = gamma x_hat + beta,  x_hat = (x - mu) / sigma over the last axes of each sample ;
    # dL/dx = (h - mean(h) - x_hat mean(h x_hat)) / sigma with h = gamma g,  dL/dgamma = sum g x_hat,  dL/dbeta = sum g
    pass


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` axes of each sample, as PyTorch's layer_norm.

    x: (..., *normalized_shape); weight, bias: normalized_shape. There are no running statistics:
    notice that training and inference compute exactly the same thing.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"layer_norm: input shape {tuple(x.shape)} does not end with normalized_shape "
                         f"{normalized_shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    param_shape = (1,) * (x.ndim - k) + normalized_shape
    return LayerNorm.apply(x, weight, bias, axes=axes, param_shape=param_shape, param_axes=tuple(range(x.ndim - k)),
                           eps=eps)
