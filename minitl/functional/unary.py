"""More elementwise math, one input each: ``sin cos rsqrt log2 log1p expm1`` and the rounding family
``floor ceil round trunc sign``.

The rounding ops are flat between their jumps, so their gradient is 0 everywhere (as PyTorch's):
a loss built on ``round(x)`` cannot train ``x``; notice this before using one in a model. Integer
inputs of the smooth ops become float32 first (``elementwise.floating``), as PyTorch.
Talks to: ``autograd.py``, ``elementwise.py`` (the dtype rule).
"""
import math

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import as_tensor
from .elementwise import floating


class Sin(Function):
    # z = sin x ;  dz/dx = cos x
    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, grad):
        return grad * get_array_module(grad).cos(self.x)


class Cos(Function):
    # z = cos x ;  dz/dx = -sin x
    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, grad):
        return -grad * get_array_module(grad).sin(self.x)


class Rsqrt(Function):
    # z = 1 / sqrt(x) ;  dz/dx = -z^3 / 2
    def forward(self, x):
        self.z = 1 / get_array_module(x).sqrt(x)
        return self.z

    def backward(self, grad):
        return -0.5 * grad * self.z ** 3


class Log2(Function):
    # z = log2 x ;  dz/dx = 1 / (x ln 2)
    def forward(self, x):
        self.x = x
        return get_array_module(x).log2(x)

    def backward(self, grad):
        return grad / (self.x * math.log(2.0))


class Log1p(Function):
    # z = ln(1 + x), accurate for tiny x ;  dz/dx = 1 / (1 + x)
    def forward(self, x):
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, grad):
        return grad / (1 + self.x)


class Expm1(Function):
    # z = e^x - 1, accurate for tiny x ;  dz/dx = e^x = z + 1
    def forward(self, x):
        self.z = get_array_module(x).expm1(x)
        return self.z

    def backward(self, grad):
        return grad * (self.z + 1)


class Rounding(Function):
    # z = floor / ceil / round / trunc / sign of x ;  dz/dx = 0   (flat between jumps)
    def __init__(self, kind, decimals=0):
        self.kind, self.decimals = kind, decimals

    def forward(self, x):
        xp = get_array_module(x)
        if self.kind == "round":
            return xp.round(x, self.decimals)  # halves go to the even neighbour, as PyTorch
        return getattr(xp, self.kind)(x)

    def backward(self, grad):
        return get_array_module(grad).zeros_like(grad)


def sin(x): return Sin.apply(floating(x))
def cos(x): return Cos.apply(floating(x))
def rsqrt(x): return Rsqrt.apply(floating(x))
def log2(x): return Log2.apply(floating(x))
def log1p(x): return Log1p.apply(floating(x))
def expm1(x): return Expm1.apply(floating(x))


def _rounding(x, kind, decimals=0):

    x = as_tensor(x)
    if x.dtype.kind in "iub" and kind != "sign":
        return x  # integers are already whole numbers (PyTorch returns them unchanged)
    return Rounding.apply(x, kind=kind, decimals=decimals)


def floor(x): return _rounding(x, "floor")
def ceil(x): return _rounding(x, "ceil")
def trunc(x): return _rounding(x, "trunc")
def sign(x): return _rounding(x, "sign")


def round(x, decimals=0):  # noqa: A001 - PyTorch's name
    """Round to ``decimals`` places; exact halves go to the even neighbour (``round(2.5)`` is 2), as PyTorch."""
    return _rounding(x, "round", decimals)
