"""More activation layers, for the activations of small networks (``functional/small_network_activations.py``).

The activations the reference models use (``ReLU``, ``GELU``, ...) are in ``core/layers.py``.
"""
from ...core.module import Module
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
