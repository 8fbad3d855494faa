"""The activation layers beyond the spine's ``ReLU``, ``Tanh`` and ``Sigmoid`` (``core/layers.py``), each a
Module around an op of ``functional/activation.py`` or of the spine's softmax family.
"""
from ...core.module import Module
from ...core.ops.activation import log_softmax, softmax
from ...functional.activation import elu, gelu, leaky_relu
from .. import functional as F


class _Pointwise(Module):
    """An activation layer with no settings: ``forward`` applies ``function`` (``inplace`` accepted, ignored)."""

    function = None

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return type(self).function(x)


class SiLU(_Pointwise):
    """x sigmoid(x) (also called swish), elementwise."""
    function = staticmethod(F.silu)


class Mish(_Pointwise):
    """x tanh(softplus(x)), elementwise."""
    function = staticmethod(F.mish)


class ReLU6(_Pointwise):
    """min(max(x, 0), 6), elementwise (MobileNet's activation)."""
    function = staticmethod(F.relu6)


class Hardsigmoid(_Pointwise):
    """clamp(x / 6 + 1/2, 0, 1): a piecewise-linear sigmoid."""
    function = staticmethod(F.hardsigmoid)


class Hardswish(_Pointwise):
    """x hardsigmoid(x): a piecewise stand-in for SiLU (MobileNetV3)."""
    function = staticmethod(F.hardswish)


class SELU(_Pointwise):
    """Scaled ELU with the self-normalising constants of Klambauer et al."""
    function = staticmethod(F.selu)


class LogSigmoid(_Pointwise):
    """log(sigmoid(x)), computed without overflow."""
    function = staticmethod(F.logsigmoid)


class Hardtanh(Module):
    """clamp(x, min_val, max_val), elementwise; no gradient on and beyond the edges."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return elu(x, self.alpha)


class GELU(Module):
    """x Phi(x): the exact erf form by default, as PyTorch; ``approximate="tanh"`` for the tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' (exact, the default) or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return softmax(x, self.dim)


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return log_softmax(x, self.dim)
