"""Matrix products: ``matmul`` (batched, NumPy broadcasting rules) and ``linear``.

Students should notice that both backward passes are matrix products again, with one operand
transposed: that is why training costs about twice the forward pass.
"""
from ..tensor import Function


def _swap_last(a):
    return a.swapaxes(-1, -2)


class MatMul(Function):
    # Z = X @ Y ;  dL/dX = G @ Y^T, dL/dY = X^T @ G   (G = dL/dZ; 1-D operands act as a row / a column)
    def forward(self, x, y):
        self.x, self.y = x, y
        return x @ y

    def backward(self, grad):
        # BEGIN SOLUTION matmul
        x, y = self.x, self.y
        if x.ndim == 1 and y.ndim == 1:  # dot product: z is a scalar
            return grad * y, grad * x
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        grad_2d = grad
        if x.ndim == 1:
            grad_2d = grad_2d[..., None, :]
        if y.ndim == 1:
            grad_2d = grad_2d[..., None]
        gx = grad_2d @ _swap_last(y2) if self.needs_input_grad[0] else None
        gy = _swap_last(x2) @ grad_2d if self.needs_input_grad[1] else None
        if gx is not None and x.ndim == 1:
            gx = gx[..., 0, :]
        if gy is not None and y.ndim == 1:
            gy = gy[..., 0]
        return gx, gy  # autograd sums over broadcast batch axes
        # END SOLUTION


class Linear(Function):
    # y = x W^T + b ;  dL/dx = g W, dL/dW = g^T x, dL/db = sum_rows g   (g = dL/dy; x: (..., in), W: (out, in))
    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        y = x @ weight.T
        if bias is not None:
            y += bias  # in place: y is this op's own fresh array
        return y

    def backward(self, grad):
        # BEGIN SOLUTION linear
        gx = grad @ self.weight if self.needs_input_grad[0] else None
        grad_2d = grad.reshape(-1, grad.shape[-1])
        gw = grad_2d.T @ self.x.reshape(-1, self.x.shape[-1]) if self.needs_input_grad[1] else None
        gb = grad_2d.sum(axis=0) if self.needs_input_grad[2] else None
        return gx, gw, gb
        # END SOLUTION


def matmul(x, y):
    """Matrix product with NumPy's rules: batched over leading axes, 1-D operands as vectors."""
    return MatMul.apply(x, y)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` as one op. x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        features = x.shape[-1] if x.ndim else "no"
        raise ValueError(f"linear: input has {features} features but the weight expects {weight.shape[1]} "
                         f"(in_features); input shape {tuple(x.shape)}, weight shape {tuple(weight.shape)}")
    return Linear.apply(x, weight, bias)
