"""The elementwise ops beyond the spine's arithmetic (``core/ops/arithmetic.py``): integer division and
remainder, trigonometry, ``rsqrt``, the logarithms and exponentials accurate near zero, rounding, ``clamp``,
``maximum``/``minimum``, ``where``, dtype casts and copies.

The piecewise-constant ops (``floor_divide floor ceil round trunc sign``) are flat between their jumps,
so their gradient is 0 everywhere (as PyTorch's): a loss built on ``round(x)`` cannot train ``x``.
"""
import math

from ..core.backend import get_array_module
from ..core.ops.arithmetic import arithmetic_operands, to_floating
from ..core.tensor import Function, Tensor, as_tensor, data_of


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


class Clip(Function):
    # z = min(max(x, lo), hi) ;  dz/dx = 1 inside [lo, hi], 0 where clipped   (lo, hi: constants)
    def __init__(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        self.lo, self.hi = min, max  # numbers or arrays that broadcast against x

    def forward(self, x):
        self.inside = get_array_module(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.inside &= x >= self.lo
        if self.hi is not None:
            self.inside &= x <= self.hi
        return get_array_module(x).clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.inside


class Maximum(Function):
    # z = max(x, y) ;  the gradient goes to the larger input, split half-half on ties (as PyTorch)
    def forward(self, x, y):
        self.x, self.y = x, y
        return get_array_module(x).maximum(x, y)

    def backward(self, grad):
        share_x = ((self.x > self.y) + 0.5 * (self.x == self.y)).astype(grad.dtype)  # bool * 0.5 is float64
        return grad * share_x, grad * (1 - share_x)


class Minimum(Function):
    # z = min(x, y) ;  the gradient goes to the smaller input, split half-half on ties
    def forward(self, x, y):
        self.x, self.y = x, y
        return get_array_module(x).minimum(x, y)

    def backward(self, grad):
        share_x = ((self.x < self.y) + 0.5 * (self.x == self.y)).astype(grad.dtype)  # bool * 0.5 is float64
        return grad * share_x, grad * (1 - share_x)


class Where(Function):
    # z = cond ? x : y ;  dz/dx = cond, dz/dy = not cond   (cond is not differentiable)
    def forward(self, cond, x, y):
        self.cond = cond.astype(bool)
        return get_array_module(x).where(self.cond, x, y)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = get_array_module(grad)
        return None, xp.where(self.cond, grad, zero), xp.where(self.cond, zero, grad)


class Cast(Function):
    # z = x as another dtype ;  dL/dx = g cast back to x's dtype
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, grad):
        return grad.astype(self.source)


class Copy(Function):
    # z = a copy of x ;  dz/dx = 1
    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


def maximum(x, y): return Maximum.apply(*arithmetic_operands(x, y))


def minimum(x, y): return Minimum.apply(*arithmetic_operands(x, y))


def cast(x, dtype): return Cast.apply(x, dtype=dtype)


def identity_copy(x): return Copy.apply(x)


def where(cond, x, y):
    """``x`` where ``cond`` is true, else ``y``; gradients flow to the chosen side only."""
    return Where.apply(cond, *arithmetic_operands(x, y))


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Clamp ``x`` into [min, max] (either may be None). Bounds are numbers or tensors that broadcast.

    The gradient goes to ``x`` where it was inside the bounds (ties count as inside), and, as in PyTorch,
    to a tensor bound that requires grad where that bound won.
    """

    if any(isinstance(b, Tensor) and b.requires_grad for b in (min, max)):
        # Trainable bounds get gradient where they win, as PyTorch's clamp: min(max(x, lo), hi), ties to x
        if min is not None:
            x = where(x >= min, x, min)
        if max is not None:
            x = where(x <= max, x, max)
        return x
    return Clip.apply(x, min=data_of(min, like=x), max=data_of(max, like=x))


clamp = clip
