"""Arithmetic and elementwise math: each op's forward and backward side by side.

Inputs broadcast like NumPy; ``unbroadcast`` (``core/tensor.py``) sums each gradient back to its
input's shape, so the backward methods below can be written as if shapes were equal. ``g`` is the
gradient of the loss with respect to the op's output.

Mixed dtypes follow PyTorch, not NumPy: in the arithmetic ops an integer or bool operand takes the
dtype of the floating one (float32 times an int64 tensor stays float32), and ``/`` of two integer
operands gives float32. ``arithmetic_operands`` does that once, for every arithmetic op; the unary
math ops convert integer input to float32 first (``to_floating``).

Integer division, trigonometry, rounding, clamp, where and the rest of NumPy's elementwise math are a
wing: ``functional/elementwise.py``.
"""

from ..backend import get_array_module
from ..tensor import DEFAULT_FLOAT, Function, Tensor, as_tensor, reference_tensor


class Add(Function):
    # z = x + y ;  dz/dx = 1, dz/dy = 1
    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    # z = x - y ;  dz/dx = 1, dz/dy = -1
    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    # z = x * y ;  dz/dx = y, dz/dy = x
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):  # x * 2.0: no gradient for the constant, so no product computed for it
        needs = self.needs_input_grad
        return grad * self.y if needs[0] else None, grad * self.x if needs[1] else None


class Div(Function):
    # z = x / y ;  dz/dx = 1/y, dz/dy = -x/y^2
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, grad):
        gx = grad / self.y
        return gx, -gx * self.x / self.y if self.needs_input_grad[1] else None


class Neg(Function):
    # z = -x ;  dz/dx = -1
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Function):
    # z = x ** y ;  dz/dx = y x^(y-1) (0 where y = 0, even at x = 0), dz/dy = z ln x   (only where x > 0)
    def forward(self, x, y):
        self.x, self.y = x, y
        self.z = x ** y
        return self.z

    def backward(self, grad):
        xp = get_array_module(grad)
        gx = None
        if self.needs_input_grad[0]:  # x^0 is constant: its gradient is 0 even where y x^(y-1) is 0 * inf (x = 0, inf)
            power = self.x ** xp.where(self.y == 0, 1, self.y - 1)
            gx = xp.where(self.y == 0, 0, grad * self.y * power).astype(grad.dtype)
        gy = None
        if self.needs_input_grad[1]:
            safe_log = xp.log(xp.where(self.x > 0, self.x, 1))
            gy = grad * self.z * safe_log
        return gx, gy


class Exp(Function):
    # z = e^x ;  dz/dx = z
    def forward(self, x):
        self.z = get_array_module(x).exp(x)
        return self.z

    def backward(self, grad):
        return grad * self.z


class Log(Function):
    # z = ln x ;  dz/dx = 1/x
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    # z = sqrt(x) ;  dz/dx = 1 / (2 z)
    def forward(self, x):
        self.z = get_array_module(x).sqrt(x)
        return self.z

    def backward(self, grad):
        return grad / (2 * self.z)


class Abs(Function):
    # z = |x| ;  dz/dx = sign(x)  (0 at x = 0, as PyTorch)
    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, grad):
        return grad * get_array_module(grad).sign(self.x)


def arithmetic_operands(*operands, true_division=False):
    """The operands as Tensors of one floating dtype where any is floating, PyTorch's promotion rule.

    An integer or bool operand (a tensor, a NumPy array or scalar, a Python number) is cast to the
    floating operand's dtype: NumPy would turn float32 * int64 into float64. With ``true_division``
    integer operands alone become float32 (``int / int`` is a fraction). Only arithmetic ops use
    this: indices, masks and class targets of other ops keep their integer type.
    """

    if len(operands) == 2:  # the common case first: a floating tensor with a number or a tensor of its dtype
        x, y = operands
        if type(x) is Tensor and x.data.dtype.kind == "f":
            if type(y) is float or type(y) is int:
                return x, as_tensor(y, like=x)
            if type(y) is Tensor and y.data.dtype == x.data.dtype:
                return operands
    like = reference_tensor(operands)
    tensors = [as_tensor(x, like=like) for x in operands]
    if like is not None and like.dtype.kind == "f" and all([t.dtype == like.dtype for t in tensors]):
        return tensors  # the common case, one floating dtype (Python numbers took it): nothing to cast
    floating = [t.dtype for t in tensors if t.dtype.kind in "fc"]
    if floating:
        target = get_array_module(*(t.data for t in tensors)).result_type(*floating)
    elif true_division:
        target = DEFAULT_FLOAT
    else:
        return tensors
    # integer tensors never require grad, so the cast needs no graph node
    return [t if t.dtype.kind in "fc" else Tensor._wrap(t.data.astype(target)) for t in tensors]


def to_floating(x):
    """``x`` as a floating tensor: an integer or bool one becomes float32, as PyTorch's unary math ops
    (``exp``, ``log``, ``sin``, ``sigmoid``, ...) do; NumPy would give float64."""

    if isinstance(x, Tensor) and x.dtype.kind in "fc":
        return x  # the common case, without the promotion machinery
    return arithmetic_operands(x, true_division=True)[0]


def add(x, y): return Add.apply(*arithmetic_operands(x, y))
def sub(x, y): return Sub.apply(*arithmetic_operands(x, y))
def mul(x, y): return Mul.apply(*arithmetic_operands(x, y))
def div(x, y): return Div.apply(*arithmetic_operands(x, y, true_division=True))
def neg(x): return Neg.apply(x)
def pow(x, y): return Pow.apply(*arithmetic_operands(x, y))  # noqa: A001 - the op's name
def exp(x): return Exp.apply(to_floating(x))
def log(x): return Log.apply(to_floating(x))
def sqrt(x): return Sqrt.apply(to_floating(x))
def abs(x): return Abs.apply(x)  # noqa: A001
