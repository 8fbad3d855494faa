"""Activation functions and the softmax family.

``softmax`` and ``log_softmax`` subtract the row maximum first: ``exp`` of a logit of 1e4 would
overflow, the shifted version cannot. ``gelu`` is the exact erf form by default, as PyTorch's
(``backend.erf``), and the tanh approximation with ``approximate="tanh"``. The "hard" activations
(``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``) are piecewise linear stand-ins for smooth
ones; they and the other activations of small networks are a wing (``functional/small_network_activations.py``).
"""
import math

from ..backend import device_of, erf, get_array_module, random_array
from ..tensor import Function
from .arithmetic import to_floating
from .reduce import normalize_dim, resolve_dim


class ReLU(Function):
    # z = max(x, 0) ;  dz/dx = 1 where x > 0
    def forward(self, x):
        if self.needs_input_grad[0]:  # the mask only serves backward: inference skips a pass over x
            self.positive = x > 0
        return get_array_module(x).maximum(x, 0)  # not x * (x > 0): -inf * 0 would be nan

    def backward(self, grad):
        # BEGIN SOLUTION relu
        return grad * self.positive
        # END SOLUTION


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
_SQRT_HALF, _INV_SQRT_2PI = math.sqrt(0.5), 1 / math.sqrt(2 * math.pi)


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


class Sigmoid(Function):
    # z = 1 / (1 + e^-x) ;  dz/dx = z (1 - z)
    def forward(self, x):
        xp = get_array_module(x)
        # written with e^-|x| so that neither branch overflows
        e = xp.exp(-abs(x))
        self.z = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.z

    def backward(self, grad):
        return grad * self.z * (1 - self.z)


class Tanh(Function):
    # z = tanh x ;  dz/dx = 1 - z^2
    def forward(self, x):
        self.z = get_array_module(x).tanh(x)
        return self.z

    def backward(self, grad):
        return grad * (1 - self.z ** 2)


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


class Softmax(Function):
    # z_i = e^(x_i) / sum_j e^(x_j) ;  dL/dx = z * (g - sum(g z))
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.z = e / e.sum(axis=self.axis, keepdims=True)
        return self.z

    def backward(self, grad):
        return self.z * (grad - (grad * self.z).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    # z_i = x_i - log sum_j e^(x_j) ;  dL/dx = g - softmax(x) * sum(g)
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.z = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.z

    def backward(self, grad):
        # BEGIN SOLUTION log_softmax
        xp = get_array_module(grad)
        return grad - xp.exp(self.z) * grad.sum(axis=self.axis, keepdims=True)
        # END SOLUTION


class GELUErf(Function):
    # z = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 ;  dz/dx = Phi(x) + x phi(x), phi the normal density
    def forward(self, x):
        self.x = x
        self.cdf = 0.5 * (1 + erf(x * x.dtype.type(_SQRT_HALF)))
        return x * self.cdf

    def backward(self, grad):
        density = get_array_module(grad).exp(-0.5 * self.x ** 2) * _INV_SQRT_2PI
        return grad * (self.cdf + self.x * density)



def relu(x): return ReLU.apply(x)
def leaky_relu(x, negative_slope=0.01): return LeakyReLU.apply(x, negative_slope=negative_slope)
def elu(x, alpha=1.0): return ELU.apply(x, alpha=alpha)


def gelu(x, approximate="none"):
    """x Phi(x), Phi the standard normal CDF: the exact form (PyTorch's default) or ``approximate="tanh"``."""
    if approximate == "tanh":
        return GELU.apply(to_floating(x))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' (exact, the default) or 'tanh', got {approximate!r}")
    return GELUErf.apply(to_floating(x))


def sigmoid(x): return Sigmoid.apply(to_floating(x))
def tanh(x): return Tanh.apply(to_floating(x))
def softplus(x, beta=1.0, threshold=20.0): return Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x, dim=None, *, axis=None):
    """Probabilities along ``dim`` (the last axis by default; each slice sums to 1); NumPy's ``axis=`` works too."""
    return Softmax.apply(to_floating(x), axis=_softmax_axis(x, resolve_dim(dim, axis, default=-1)[0], "softmax"))


def log_softmax(x, dim=None, *, axis=None):
    """``log(softmax(x))`` computed stably along ``dim`` (the last axis by default)."""
    return LogSoftmax.apply(to_floating(x), axis=_softmax_axis(x, resolve_dim(dim, axis, default=-1)[0], "log_softmax"))


def _softmax_axis(x, dim, op):
    """The checked axis; None for a 0-d tensor, whose softmax runs over its one value."""
    ndim = getattr(x, "ndim", 0)
    axis = normalize_dim(dim, ndim, op)
    return axis if ndim else None


# ----- dropout: during training, zero each element with probability p, scale the survivors by 1/(1-p) -----
# Inverted dropout: the scaling happens at training time, so inference needs no correction (dropout is then
# the identity). The mask is drawn on the input's device (``backend.random_array``): it never crosses the bus.

class Dropout(Function):
    # y = x * mask / (1 - p) ;  dy/dx = mask / (1 - p)   (the same mask: a dropped element gets no gradient)
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        keep = random_array("uniform", x.shape, x.dtype, device_of(x)) >= self.p  # kept with probability 1 - p
        # p == 1 drops everything; the scale is then irrelevant (and would divide by zero)
        self.scaled_mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.p) if self.p < 1 else 0.0)
        return x * self.scaled_mask

    def backward(self, grad):
        return grad * self.scaled_mask


def dropout(x, p=0.5, training=True):
    """Zero elements at random with probability ``p`` when ``training``; the identity otherwise.

    x: any shape -> same shape. Notice the survivors are multiplied by 1/(1-p), so the mean of the
    output matches the input's and nothing changes at inference.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=float(p))
