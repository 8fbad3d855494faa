"""Group normalisation: statistics over groups of channels within each sample, as ``torch.nn.functional.group_norm``.

The C channels are split into G groups; each (sample, group) is normalised with its own mean and
variance, then each channel gets its own scale and shift. It is layer norm on a reshaped tensor
(N, G, C/G * H * W), so the forward and backward are ``norm.py``'s layer norm. Unlike batch norm
it keeps no running statistics and does not depend on the batch: it works with a batch of one,
which is why detection and segmentation models fine-tuned with small batches use it.
"""
from ..core.ops.norm import layer_norm


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
