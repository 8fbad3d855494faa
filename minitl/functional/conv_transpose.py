"""Transposed 2-D convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

A transposed convolution is the backward of a convolution run forward: each input pixel spreads
its value, weighted by the kernel, over a kh x kw patch of the (larger) output, and overlapping
patches add up. So its forward is ``conv.py``'s input gradient (the columns ``W^T x``, then
``col2im``), and its backward is a plain convolution of the output gradient: the two ops are each
other's adjoint. Used to upsample in decoders and segmentation heads.
"""
from ..core.backend import get_array_module
from ..core.ops.conv import Conv2d, col2im, pair
from ..core.tensor import Function


def transposed_output_size(size, kernel, stride, padding, dilation, output_padding):
    """(size - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1: undoes ``conv.output_size``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


class ConvTranspose2d(Function):
    # y = x spread back through W onto windows (the input gradient of a conv) ;  dL/dx = conv2d(g, W), dL/dW = the
    # conv's weight gradient for input g, output gradient x
    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        xp = get_array_module(x)
        n, c_in, h, w = x.shape
        _, c_out_per_group, kh, kw = weight.shape
        groups = self.groups
        out_hw = tuple(transposed_output_size(*args) for args in zip(
            (h, w), (kh, kw), self.stride, self.padding, self.dilation, self.output_padding))
        # columns W_g^T @ x_g, batched over images and groups: (N, G, Og*kh*kw, H*W)
        w_mat = weight.reshape(groups, c_in // groups, -1)
        cols = w_mat.transpose(0, 2, 1) @ x.reshape(n, groups, c_in // groups, h * w)
        cols = cols.reshape(n, groups * c_out_per_group, kh, kw, h, w)
        y = col2im(lambda i, j: cols[:, :, i, j], x, (n, groups * c_out_per_group) + out_hw, x.dtype, (kh, kw),
                   self.stride, self.padding, self.dilation)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        self.x = x if self.needs_input_grad[1] else None  # only the weight's gradient needs the input
        self.weight = weight
        return xp.ascontiguousarray(y)

    def backward(self, grad):
        needs = self.needs_input_grad
        conv = Conv2d(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)
        conv.needs_input_grad = (False, needs[1], False)  # keep the columns only if dW is wanted
        gx = conv.forward(grad, self.weight) if needs[0] or needs[1] else None
        gw = conv.backward(self.x)[1] if needs[1] else None  # x plays the conv output's gradient
        gb = grad.sum(axis=(0, 2, 3)) if needs[2] else None
        return (gx if needs[0] else None), gw, gb


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x: (N, C_in, H, W), weight: (C_in, C_out/groups, kh, kw) (note: in first), bias: (C_out,).

    Output (N, C_out, H', W'), H' = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
    ``output_padding`` (less than ``stride``) adds rows on one side to pick among the input sizes that
    a strided convolution maps to the same output size. Notice that conv_transpose2d(conv2d(x))
    restores the SHAPE of x, not its values.
    """
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv_transpose2d expects x (N, C_in, H, W) and weight (C_in, C_out/groups, kh, kw), "
                         f"got shapes {tuple(x.shape)} and {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[0] or x.shape[1] % groups:
        raise ValueError(f"conv_transpose2d: input has {x.shape[1]} channels but weight.shape[0] is "
                         f"{weight.shape[0]} (it must equal C_in, divisible by groups={groups})")
    settings = dict(stride=pair(stride, "stride"), padding=pair(padding, "padding"), groups=groups,
                    output_padding=pair(output_padding, "output_padding"), dilation=pair(dilation, "dilation"))
    if any(op >= s for op, s in zip(settings["output_padding"], settings["stride"])):
        raise ValueError(f"conv_transpose2d: output_padding {settings['output_padding']} must be smaller than "
                         f"stride {settings['stride']}")
    sizes = [transposed_output_size(*args) for args in zip(x.shape[2:], weight.shape[2:], settings["stride"],
                                                           settings["padding"], settings["dilation"],
                                                           settings["output_padding"])]
    if min(sizes) < 1:
        raise ValueError(f"conv_transpose2d: padding {settings['padding']} leaves no output (size {tuple(sizes)})")
    return ConvTranspose2d.apply(x, weight, bias, **settings)
