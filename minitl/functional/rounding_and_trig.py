"""The rest of the elementwise math, beside the spine's arithmetic (``core/ops/arithmetic.py``): integer
division and remainder, trigonometry, ``rsqrt``, the logarithms and exponentials accurate near zero, rounding.

The piecewise-constant ops (``floor_divide floor ceil round trunc sign``) are flat between their jumps,
so their gradient is 0 everywhere (as PyTorch's): a loss built on ``round(x)`` cannot train ``x``.
"""
import math

from ..core.backend import get_array_module
from ..core.ops.arithmetic import arithmetic_operands, to_floating
from ..core.tensor import Function, as_tensor


class FloorDivide(Function):
    # z = floor(x / y) ;  dz/dx = dz/dy = 0   (flat between jumps; PyTorch refuses to differentiate it)
    def forward(self, x, y):
        return get_array_module(x).floor_divide(x, y)

    def backward(self, grad):
        zero = get_array_module(grad).zeros_like(grad)
        return zero, zero


class Remainder(Function):
    # z = x - floor(x / y) y   (the sign of y, Python's %) ;  dz/dx = 1, dz/dy = -floor(x / y)
    def forward(self, x, y):
        self.x, self.y = x, y
        return get_array_module(x).remainder(x, y)

    def backward(self, grad):
        gy = -grad * get_array_module(grad).floor_divide(self.x, self.y) if self.needs_input_grad[1] else None
        return grad, gy


def floor_divide(x, y): return FloorDivide.apply(*arithmetic_operands(x, y))


def remainder(x, y): return Remainder.apply(*arithmetic_operands(x, y))


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


class PiecewiseConstant(Function):
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


def sin(x): return Sin.apply(to_floating(x))


def cos(x): return Cos.apply(to_floating(x))


def rsqrt(x): return Rsqrt.apply(to_floating(x))


def log2(x): return Log2.apply(to_floating(x))


def log1p(x): return Log1p.apply(to_floating(x))


def expm1(x): return Expm1.apply(to_floating(x))


def _rounding(x, kind, decimals=0):

    x = as_tensor(x)
    if x.dtype.kind in "iub" and kind != "sign":
        return x  # integers are already whole numbers (PyTorch returns them unchanged)
    return PiecewiseConstant.apply(x, kind=kind, decimals=decimals)


def floor(x): return _rounding(x, "floor")


def ceil(x): return _rounding(x, "ceil")


def trunc(x): return _rounding(x, "trunc")


def sign(x): return _rounding(x, "sign")


def round(x, decimals=0):  # noqa: A001 - PyTorch's name
    """Round to ``decimals`` places; exact halves go to the even neighbour (``round(2.5)`` is 2), as PyTorch."""
    return _rounding(x, "round", decimals)
