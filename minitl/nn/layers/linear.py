"""``Linear``: y = x W^T + b, the fully connected layer (a classifier head is one)."""
import numpy

from .. import functional as F
from ..init import add_weight_and_bias, default_layer_init_
from ..module import Module


class Linear(Module):
    """x: (N, *, in_features) -> (N, *, out_features). Weight (out, in) as PyTorch, so keys match."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=numpy.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype, device)

    def reset_parameters(self):
        default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
