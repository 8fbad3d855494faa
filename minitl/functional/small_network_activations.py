"""The activations of modern small networks (MobileNet, EfficientNet, ...): SiLU, Mish, the "hard" ones, SELU.

The "hard" activations (``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``) are piecewise linear
stand-ins for smooth ones, cheap on phones (MobileNet uses them); their gradient is 0 on the flat
parts. Each has its backward beside its forward; the spine's activations are in ``core/ops/activation.py``.
"""
from ..core.backend import get_array_module
from ..core.ops.activation import Sigmoid, Softplus
from ..core.ops.arithmetic import to_floating
from ..core.tensor import Function


class SiLU(Function):
    # z = x sigmoid(x) ;  dz/dx = s (1 + x (1 - s))
    def forward(self, x):
        self.x, self.s = x, Sigmoid().forward(x)
        return x * self.s

    def backward(self, grad):
        return grad * self.s * (1 + self.x * (1 - self.s))


class Mish(Function):
    # z = x tanh(softplus(x)) ;  dz/dx = t + x sigmoid(x) (1 - t^2)
    def forward(self, x):
        xp = get_array_module(x)
        self.x, self.t = x, xp.tanh(Softplus().forward(x))
        return x * self.t

    def backward(self, grad):
        return grad * (self.t + self.x * Sigmoid().forward(self.x) * (1 - self.t ** 2))


class Hardtanh(Function):
    # z = clamp(x, lo, hi) ;  dz/dx = 1 strictly inside (lo, hi), 0 on and beyond the edges (as PyTorch)
    def __init__(self, min_val=-1.0, max_val=1.0):
        self.lo, self.hi = min_val, max_val

    def forward(self, x):
        self.inside = (x > self.lo) & (x < self.hi)
        return get_array_module(x).clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.inside


class Hardsigmoid(Function):
    # z = clamp(x / 6 + 1/2, 0, 1) ;  dz/dx = 1/6 for -3 < x < 3, else 0
    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return get_array_module(x).clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.inside / 6


class Hardswish(Function):
    # z = x hardsigmoid(x) ;  dz/dx = 0 for x <= -3, x/3 + 1/2 for -3 < x < 3, 1 from 3 on (PyTorch's edges)
    def forward(self, x):
        self.x = x
        return x * get_array_module(x).clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)

    def backward(self, grad):
        xp = get_array_module(grad)
        slope = xp.where(self.x <= -3, 0, xp.where(self.x < 3, self.x / 3 + 0.5, 1)).astype(grad.dtype, copy=False)
        return grad * slope


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class SELU(Function):
    # z = s x for x > 0, s a (e^x - 1) otherwise ;  dz/dx = s, or s a e^x
    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        self.negative_part = _SELU_SCALE * _SELU_ALPHA * xp.exp(xp.minimum(x, 0))  # also the slope there
        return xp.where(self.positive, _SELU_SCALE * x, self.negative_part - _SELU_SCALE * _SELU_ALPHA).astype(x.dtype)

    def backward(self, grad):
        xp = get_array_module(grad)
        return xp.where(self.positive, _SELU_SCALE * grad, grad * self.negative_part).astype(grad.dtype)


class LogSigmoid(Function):
    # z = log sigmoid(x) = min(x, 0) - log(1 + e^-|x|) ;  dz/dx = 1 - sigmoid(x) = sigmoid(-x)
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-abs(x)))

    def backward(self, grad):
        return grad * Sigmoid().forward(-self.x)


def silu(x): return SiLU.apply(to_floating(x))
def mish(x): return Mish.apply(to_floating(x))
def hardtanh(x, min_val=-1.0, max_val=1.0): return Hardtanh.apply(to_floating(x), min_val=min_val, max_val=max_val)
def relu6(x): return Hardtanh.apply(to_floating(x), min_val=0.0, max_val=6.0)
def hardsigmoid(x): return Hardsigmoid.apply(to_floating(x))
def hardswish(x): return Hardswish.apply(to_floating(x))
def selu(x): return SELU.apply(to_floating(x))
def logsigmoid(x): return LogSigmoid.apply(to_floating(x))
