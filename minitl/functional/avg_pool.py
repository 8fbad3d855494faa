"""Average pooling: the mean of each window of an (N, C, H, W) array (``F.avg_pool2d``, ``nn.AvgPool2d``).

The windows are the spine's (``core/ops/conv.py``), checked as max pooling checks them (``core/ops/pool.py``);
the backward spreads each output gradient evenly over its window with ``col2im``.
"""
from ..core.ops.conv import col2im, pad_hw, windows
from ..core.ops.pool import pool_settings
from ..core.tensor import Function


class AvgPool2d(Function):
    # y = (1/(kh kw)) sum over each window ;  dy/dx = 1/(kh kw) for every pixel of every window holding x
    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        view = windows(pad_hw(x, self.padding), self.kernel, self.stride, (1, 1))
        self.x_shape, self.x_dtype = x.shape, x.dtype
        # padded zeros count in the divisor: PyTorch's default count_include_pad=True
        return view.mean(axis=(4, 5))

    def backward(self, grad):
        (kh, kw) = self.kernel
        share = grad / (kh * kw)
        return col2im(lambda i, j: share, grad, self.x_shape, self.x_dtype, self.kernel, self.stride,
                      self.padding, (1, 1))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean of each kh x kw window. x: (N, C, H, W) -> (N, C, OH, OW).

    Padding counts as zeros in the mean (PyTorch's count_include_pad=True): windows at the border
    give smaller values. Notice the backward spreads each gradient evenly over its window.
    """
    return AvgPool2d.apply(x, **pool_settings(x, kernel_size, stride, padding, "avg_pool2d"))
