"""Activation layers: parameter-free Modules around the ops in ``functional/activation.py``."""
from .. import functional as F
from ..module import Module


class ReLU(Module):
    """max(x, 0), elementwise."""

    def __init__(self, inplace=False):  # ``inplace`` accepted for PyTorch compatibility; ignored
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)


class GELU(Module):
    """x Phi(x): the exact erf form by default, as PyTorch; ``approximate="tanh"`` for the tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' (exact, the default) or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class SiLU(Module):
    """x sigmoid(x) (also called swish), elementwise."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.silu(x)


class Mish(Module):
    """x tanh(softplus(x)), elementwise."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.mish(x)


class Hardtanh(Module):
    """clamp(x, min_val, max_val), elementwise; no gradient on and beyond the edges."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    """min(max(x, 0), 6), elementwise (MobileNet's activation)."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.relu6(x)


class Hardsigmoid(Module):
    """clamp(x / 6 + 1/2, 0, 1): a piecewise-linear sigmoid."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(Module):
    """x hardsigmoid(x): a piecewise stand-in for SiLU (MobileNetV3)."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.hardswish(x)


class SELU(Module):
    """Scaled ELU with the self-normalising constants of Klambauer et al."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.selu(x)


class LogSigmoid(Module):
    """log(sigmoid(x)), computed without overflow."""

    def forward(self, x):
        return F.logsigmoid(x)
