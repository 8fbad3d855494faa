"""Activation functions and the softmax family.

``softmax`` and ``log_softmax`` subtract the row maximum first: ``exp`` of a logit of 1e4 would
overflow, the shifted version cannot. The other activations (leaky ReLU, ELU, GELU, softplus, SiLU,
the "hard" ones) are a wing: ``functional/activation.py``.
"""

from ..backend import device_of, get_array_module, random_array
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


def relu(x): return ReLU.apply(x)


def sigmoid(x): return Sigmoid.apply(to_floating(x))
def tanh(x): return Tanh.apply(to_floating(x))


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
