"""1-D convolution over (N, C, L) sequences, as ``torch.nn.functional.conv1d``.

A 1-D convolution is a 2-D one on an image of height 1: the input becomes (N, C, 1, L) and the
weight (O, C/groups, 1, k), and ``conv2d`` does the work, forward and backward (its gradients
flow back through the two reshapes).
"""
import numbers

from ..core.ops.conv import conv2d


def single(value, name):
    """``3`` or ``(3,)`` -> 3: PyTorch accepts both for a 1-D stride, padding or dilation."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"conv1d: {name} must be an int or a 1-tuple, got {value!r}")
    return int(value)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x: (N, C, L), weight: (O, C/groups, k), bias: (O,) -> (N, O, L'), L' = (L + 2p - d(k-1) - 1) // s + 1.

    ``padding`` may be ``"same"`` or ``"valid"`` as in conv2d. Notice that nothing new is computed
    here: the sequence is a one-pixel-high image.
    """
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d expects x (N, C, L) and weight (O, C/groups, k), got shapes "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    padding = padding if isinstance(padding, str) else (0, single(padding, "padding"))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, single(stride, "stride")), padding=padding,
               dilation=(1, single(dilation, "dilation")), groups=groups)
    return y.squeeze(2)
