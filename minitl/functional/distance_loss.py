"""Regression losses on the difference ``d = input - target``: squared error, L1 (absolute error) and smooth L1
(Huber-like).

Each is an elementwise op followed by the reduction of ``loss.py`` (``"mean"``, ``"sum"``, ``"none"``);
L1 and smooth L1 refuse an input and a target of different shapes, since a broadcast (N, 1) against (N,) would
quietly train on an (N, N) loss; ``mse_loss`` warns instead, as PyTorch does.
"""
import warnings

from ..core.backend import get_array_module
from ..core.ops.loss import _check_reduction, _reduce
from ..core.tensor import Function, as_tensor


def check_same_shape(name, input, target):  # noqa: A002 - PyTorch's name
    """Raise unless ``target`` has the shape of ``input``, naming both and the usual fix."""
    target_shape = as_tensor(target, like=input).shape
    if target_shape != tuple(input.shape):
        raise ValueError(f"{name}: target shape {target_shape} must equal input shape {tuple(input.shape)}; "
                         "reshape one to match the other (e.g. output.squeeze(1) for an (N, 1) output)")


class AbsoluteError(Function):
    # loss = |x - t| ;  dloss/dx = sign(x - t) (0 at x = t, as PyTorch), dloss/dt = -sign(x - t)
    def forward(self, x, target):
        self.sign = get_array_module(x).sign(x - target)
        return abs(x - target)

    def backward(self, grad):
        gx = self.sign * grad
        return gx, -gx if self.needs_input_grad[1] else None


class SmoothAbsoluteError(Function):
    # loss = d^2 / (2 beta) if |d| < beta else |d| - beta / 2 ;  dloss/dd = d / beta if |d| < beta else sign(d)
    def __init__(self, beta):
        self.beta = beta

    def forward(self, x, target):
        xp = get_array_module(x)
        d = x - target
        self.inside = abs(d) < self.beta  # always False when beta = 0: plain L1
        self.slope = xp.where(self.inside, d / (self.beta or 1), xp.sign(d))
        return xp.where(self.inside, 0.5 * d * d / (self.beta or 1), abs(d) - 0.5 * self.beta)

    def backward(self, grad):
        gx = self.slope * grad
        return gx, -gx if self.needs_input_grad[1] else None


def l1_loss(input, target, reduction="mean"):  # noqa: A002 - PyTorch's name
    """Mean absolute error ``|input - target|``, reduced; input and target of the same shape.

    Notice that the gradient is +-1 whatever the size of the error: unlike the squared error, an
    outlier pulls no harder than any other sample.
    """
    _check_reduction(reduction)
    check_same_shape("l1_loss", input, target)
    return _reduce(AbsoluteError.apply(input, target), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002 - PyTorch's name
    """Squared error near zero, absolute error beyond ``beta``.

    ``d^2 / (2 beta)`` if ``|d| < beta`` else ``|d| - beta / 2``.

    The two pieces meet with the same value and slope at ``|d| = beta``; ``beta=0`` is ``l1_loss``.
    Notice the gradient: ``d / beta`` for small errors (smooth near the optimum), ``+-1`` for large ones.
    """
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    check_same_shape("smooth_l1_loss", input, target)
    return _reduce(SmoothAbsoluteError.apply(input, target, beta=float(beta)), reduction)


class SquaredError(Function):
    # loss = (x - t)^2 ;  dloss/dx = 2 (x - t), dloss/dt = -2 (x - t)
    def forward(self, x, target):
        self.diff = x - target
        return self.diff * self.diff

    def backward(self, grad):
        gx = 2 * self.diff * grad
        return gx, -gx if self.needs_input_grad[1] else None


def mse_loss(input, target, reduction="mean"):  # noqa: A002 - PyTorch's name
    """Mean squared error ``(input - target)^2``, reduced; input and target of the same shape.

    Different shapes still broadcast (as in PyTorch) but warn: an (N, 1) output against an (N,)
    target broadcasts to (N, N) and silently trains on the wrong loss.
    Notice that the gradient grows with the error: far-off predictions are pushed hardest.
    """
    _check_reduction(reduction)
    target_shape = as_tensor(target, like=input).shape  # a Tensor, array, list or number
    if target_shape != tuple(input.shape):
        warnings.warn(f"mse_loss: target shape {target_shape} differs from input shape {tuple(input.shape)}; "
                      "they will broadcast, which is likely not what you want: reshape one to match the other",
                      UserWarning, stacklevel=2)
    return _reduce(SquaredError.apply(input, target), reduction)
