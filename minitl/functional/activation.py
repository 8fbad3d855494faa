"""The activations beyond the spine's ReLU, sigmoid, tanh and softmax (``core/ops/activation.py``): leaky ReLU,
ELU, GELU, softplus, and those of modern small networks (MobileNet, EfficientNet, ...): SiLU, Mish, SELU, the
"hard" ones.

``gelu`` is the exact erf form by default, as PyTorch's (``erf`` below), and the tanh approximation with
``approximate="tanh"``. The "hard" activations (``hardtanh``, ``relu6``, ``hardsigmoid``,
``hardswish``) are piecewise linear stand-ins for smooth ones, cheap on phones (MobileNet uses them);
their gradient is 0 on the flat parts. Each has its backward beside its forward.
"""
import math

import numpy

from ..core.backend import cupyx, get_array_module, is_cupy_array
from ..core.ops.activation import Sigmoid
from ..core.ops.arithmetic import to_floating
from ..core.tensor import Function

_SQRT_HALF, _INV_SQRT_2PI = math.sqrt(0.5), 1 / math.sqrt(2 * math.pi)


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


class LeakyReLU(Function):
    # z = x if x > 0 else a x ;  dz/dx = 1 or a
    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope

    def forward(self, x):
        self.positive = x > 0
        return get_array_module(x).where(self.positive, x, x * self.slope)

    def backward(self, grad):
        return get_array_module(grad).where(self.positive, grad, grad * self.slope)


class ELU(Function):
    # z = x if x > 0 else a (e^x - 1) ;  dz/dx = 1 or z + a
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        self.z = xp.where(self.positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        return self.z

    def backward(self, grad):
        return get_array_module(grad).where(self.positive, grad, grad * (self.z + self.alpha))


_GELU_C = math.sqrt(2.0 / math.pi)


class GELU(Function):
    # z = x/2 (1 + tanh(u)), u = c (x + 0.044715 x^3) ;  dz/dx = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3*0.044715 x^2)
    def forward(self, x):
        self.x = x
        self.t = get_array_module(x).tanh(_GELU_C * (x + 0.044715 * x ** 3))
        return 0.5 * x * (1 + self.t)

    def backward(self, grad):
        x, t = self.x, self.t
        du = _GELU_C * (1 + 3 * 0.044715 * x ** 2)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du)


class Softplus(Function):
    # z = ln(1 + e^(b x)) / b ;  dz/dx = sigmoid(b x)   (linear above the threshold, like PyTorch)
    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = get_array_module(x)
        bx = self.beta * x
        self.bx = bx
        soft = xp.logaddexp(0, bx) / self.beta
        return xp.where(bx > self.threshold, x, soft).astype(x.dtype)

    def backward(self, grad):
        xp = get_array_module(grad)
        sig = xp.exp(-xp.logaddexp(0, -self.bx))  # sigmoid(bx) without overflowing e^-bx for bx << 0
        return grad * xp.where(self.bx > self.threshold, 1, sig).astype(grad.dtype)


class GELUErf(Function):
    # z = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 ;  dz/dx = Phi(x) + x phi(x), phi the normal density
    def forward(self, x):
        self.x = x
        self.cdf = 0.5 * (1 + erf(x * x.dtype.type(_SQRT_HALF)))
        return x * self.cdf

    def backward(self, grad):
        density = get_array_module(grad).exp(-0.5 * self.x ** 2) * _INV_SQRT_2PI
        return grad * (self.cdf + self.x * density)


def leaky_relu(x, negative_slope=0.01): return LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x, alpha=1.0): return ELU.apply(x, alpha=alpha)


def gelu(x, approximate="none"):
    """x Phi(x), Phi the standard normal CDF: the exact form (PyTorch's default) or ``approximate="tanh"``."""
    if approximate == "tanh":
        return GELU.apply(to_floating(x))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' (exact, the default) or 'tanh', got {approximate!r}")
    return GELUErf.apply(to_floating(x))


def softplus(x, beta=1.0, threshold=20.0): return Softplus.apply(x, beta=beta, threshold=threshold)


def erf(x):
    """The error function, elementwise (exact GELU needs it; NumPy has none).

    CuPy brings its own; on the CPU SciPy's is used when SciPy is installed, else Python's ``math.erf``
    element by element (exact, but slow on big arrays: ``pip install scipy`` speeds it up).
    """
    if is_cupy_array(x):
        return cupyx().scipy.special.erf(x)
    try:
        from scipy.special import erf as scipy_erf  # noqa: PLC0415 - optional accelerator
    except ImportError:
        return numpy.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)
    return scipy_erf(x).astype(x.dtype, copy=False)
