"""Elementwise arithmetic and math: each op's forward and backward side by side.

Inputs broadcast like NumPy; ``autograd.unbroadcast`` sums each gradient back to its input's shape,
so the backward methods below can be written as if shapes were equal. ``g`` is the gradient of the
loss with respect to the op's output.
"""
from ..autograd import Function
from ..backend import get_array_module


class Add(Function):
    # z = x + y ;  dz/dx = 1, dz/dy = 1
    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g


class Sub(Function):
    # z = x - y ;  dz/dx = 1, dz/dy = -1
    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g


class Mul(Function):
    # z = x * y ;  dz/dx = y, dz/dy = x
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, g * self.x


class Div(Function):
    # z = x / y ;  dz/dx = 1/y, dz/dy = -x/y^2
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, g):
        gx = g / self.y
        return gx, -gx * self.x / self.y if self.needs_input_grad[1] else None


class Neg(Function):
    # z = -x ;  dz/dx = -1
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    # z = x ** y ;  dz/dx = y x^(y-1), dz/dy = z ln x   (only where x > 0)
    def forward(self, x, y):
        self.x, self.y = x, y
        self.z = x ** y
        return self.z

    def backward(self, g):
        xp = get_array_module(g)
        gx = g * self.y * self.x ** (self.y - 1) if self.needs_input_grad[0] else None
        gy = None
        if self.needs_input_grad[1]:
            safe_log = xp.log(xp.where(self.x > 0, self.x, 1))
            gy = g * self.z * safe_log
        return gx, gy


class Exp(Function):
    # z = e^x ;  dz/dx = z
    def forward(self, x):
        self.z = get_array_module(x).exp(x)
        return self.z

    def backward(self, g):
        return g * self.z


class Log(Function):
    # z = ln x ;  dz/dx = 1/x
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    # z = sqrt(x) ;  dz/dx = 1 / (2 z)
    def forward(self, x):
        self.z = get_array_module(x).sqrt(x)
        return self.z

    def backward(self, g):
        return g / (2 * self.z)


class Abs(Function):
    # z = |x| ;  dz/dx = sign(x)  (0 at x = 0, as PyTorch)
    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)


class Clip(Function):
    # z = min(max(x, lo), hi) ;  dz/dx = 1 inside [lo, hi], 0 where clipped
    def __init__(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        self.lo, self.hi = min, max

    def forward(self, x):
        self.inside = get_array_module(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.inside &= x >= self.lo
        if self.hi is not None:
            self.inside &= x <= self.hi
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, g):
        return g * self.inside


class Maximum(Function):
    # z = max(x, y) ;  the gradient goes to the larger input, split half-half on ties (as PyTorch)
    def forward(self, x, y):
        self.x, self.y = x, y
        return get_array_module(x).maximum(x, y)

    def backward(self, g):
        share_x = ((self.x > self.y) + 0.5 * (self.x == self.y)).astype(g.dtype)  # bool * 0.5 is float64
        return g * share_x, g * (1 - share_x)


class Minimum(Function):
    # z = min(x, y) ;  the gradient goes to the smaller input, split half-half on ties
    def forward(self, x, y):
        self.x, self.y = x, y
        return get_array_module(x).minimum(x, y)

    def backward(self, g):
        share_x = ((self.x < self.y) + 0.5 * (self.x == self.y)).astype(g.dtype)  # bool * 0.5 is float64
        return g * share_x, g * (1 - share_x)


class Where(Function):
    # z = cond ? x : y ;  dz/dx = cond, dz/dy = not cond   (cond is not differentiable)
    def forward(self, cond, x, y):
        self.cond = cond.astype(bool)
        return get_array_module(x).where(self.cond, x, y)

    def backward(self, g):
        zero = g.dtype.type(0)
        xp = get_array_module(g)
        return None, xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)


class Cast(Function):
    # z = x as another dtype ;  dz/dx = 1, cast back
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.source)


class Copy(Function):
    # z = a copy of x ;  dz/dx = 1
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def add(x, y): return Add.apply(x, y)
def sub(x, y): return Sub.apply(x, y)
def mul(x, y): return Mul.apply(x, y)
def div(x, y): return Div.apply(x, y)
def neg(x): return Neg.apply(x)
def pow(x, y): return Pow.apply(x, y)  # noqa: A001 - the op's name
def exp(x): return Exp.apply(x)
def log(x): return Log.apply(x)
def sqrt(x): return Sqrt.apply(x)
def abs(x): return Abs.apply(x)  # noqa: A001
def clip(x, min=None, max=None): return Clip.apply(x, min=min, max=max)  # noqa: A002
def maximum(x, y): return Maximum.apply(x, y)
def minimum(x, y): return Minimum.apply(x, y)
def cast(x, dtype): return Cast.apply(x, dtype=dtype)
def identity_copy(x): return Copy.apply(x)


def where(cond, x, y):
    """``x`` where ``cond`` is true, else ``y``; gradients flow to the chosen side only."""
    return Where.apply(cond, x, y)


clamp = clip
