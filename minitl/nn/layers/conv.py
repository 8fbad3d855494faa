"""``Conv2d``: a 2-D convolution over NCHW images with OIHW weights (PyTorch's layout)."""
import numpy

from ...core.ops.conv import pair
from .. import functional as F
from ..init import add_weight_and_bias, default_layer_init_
from ..input_checks import check_conv_channels
from ..module import Module


class Conv2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H + 2p - d(k-1) - 1) // s + 1.

    Weight shape (out_channels, in_channels // groups, kh, kw); ``groups=in_channels`` is depthwise.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, device=None, dtype=numpy.float32):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        # "same" / "valid" stay strings: F.conv2d resolves them against the kernel
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.dilation, self.groups = pair(dilation, "dilation"), groups
        add_weight_and_bias(self, (out_channels, in_channels // groups) + self.kernel_size, bias, dtype, device)

    def reset_parameters(self):
        default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        check_conv_channels(self, x)  # names this layer and the likely fix, not F.conv2d's groups message
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")
