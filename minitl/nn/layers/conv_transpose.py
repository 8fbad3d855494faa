"""``ConvTranspose2d``: the learnable upsampling of decoders and segmentation heads.

Weight shape (in, out/groups, kh, kw)."""
import math

import numpy

from ...core.init import add_weight_and_bias, uniform_
from ...core.module import Module, Parameter
from ...core.ops.conv import pair
from .. import functional as F
from ..init import kaiming_uniform_


class ConvTranspose2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H - 1) s - 2p + d(k - 1) + output_padding + 1.

    With kernel_size = stride = 2 it exactly doubles H and W. Notice the weight layout: input
    channels first, the transpose of Conv2d's (as in PyTorch, so weight files map one to one).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=numpy.float32):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"ConvTranspose2d: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' exists (as in PyTorch), got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        self.padding, self.output_padding = pair(padding, "padding"), pair(output_padding, "output_padding")
        self.dilation, self.groups = pair(dilation, "dilation"), groups
        add_weight_and_bias(self, (in_channels, out_channels // groups) + self.kernel_size, False, dtype, device)
        if bias:  # the bias has one entry per OUTPUT channel, not weight.shape[0]
            self.bias = Parameter(numpy.zeros(out_channels), dtype=dtype, device=self.weight.device)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's default: kaiming_uniform(a=sqrt 5) with fan_in = weight.shape[1] * kh * kw
        kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1])
            uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ConvTranspose2d({self.in_channels}, {self.out_channels}) expects input "
                             f"(N, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + ("" if self.bias is not None else ", bias=False"))
