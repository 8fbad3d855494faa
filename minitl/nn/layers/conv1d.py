"""``Conv1d``: a 1-D convolution over (N, C, L) sequences (audio, time series, text features)."""
import numpy

from ...core.init import add_weight_and_bias, default_layer_init_
from ...core.module import Module
from ...functional.conv1d import single
from .. import functional as F


class Conv1d(Module):
    """(N, C_in, L) -> (N, C_out, L'), L' = (L + 2p - d(k-1) - 1) // s + 1; weight (out, in // groups, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=numpy.float32):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"Conv1d: padding_mode {padding_mode!r} is not supported; pad with F.pad(x, (p, p), "
                             "mode=...) and use padding=0")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = single(kernel_size, "kernel_size"), single(stride, "stride")
        self.padding = padding if isinstance(padding, str) else single(padding, "padding")
        self.dilation, self.groups = single(dilation, "dilation"), groups
        add_weight_and_bias(self, (out_channels, in_channels // groups, self.kernel_size), bias, dtype, device)

    def reset_parameters(self):
        default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv1d({self.in_channels}, {self.out_channels}) expects input (N, {self.in_channels}, "
                             f"L), got shape {tuple(x.shape)}")
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
                f"stride=({self.stride},)" + ("" if self.bias is not None else ", bias=False"))
