"""Losses on probabilities: binary cross entropy (on logits, and on probabilities) and the KL divergence.

``binary_cross_entropy`` takes the sigmoid's output; ``binary_cross_entropy_with_logits`` takes the
logits and is the stable choice for training. ``kl_div`` follows PyTorch's argument
order: the *input* is log-probabilities, the target probabilities (or log-probabilities with
``log_target=True``).
"""
import warnings

import numpy

from ..core.backend import device_of, get_array_module
from ..core.ops.loss import _check_reduction, _reduce
from ..core.tensor import Function, as_tensor
from .distance_loss import check_same_shape

LOG_FLOOR = -100.0  # PyTorch clamps log(p) at -100, so p = 0 gives a large, finite loss
GRAD_EPS = 1e-12    # and divides by max(p (1 - p), 1e-12) in the gradient


class BinaryCrossEntropy(Function):
    # loss = -w [t log p + (1 - t) log(1 - p)] ;  dloss/dp = w (p - t) / (p (1 - p)), dloss/dt = w [log(1 - p) - log p]
    def forward(self, p, target, weight):
        xp = get_array_module(p)
        self.weight = 1 if weight is None else weight
        with numpy.errstate(divide="ignore"):  # log(0) = -inf is expected here and clamped
            self.log_p = xp.maximum(xp.log(p), LOG_FLOOR)
            self.log_not_p = xp.maximum(xp.log1p(-p), LOG_FLOOR)
        self.p, self.target = p, target
        return -self.weight * (target * self.log_p + (1 - target) * self.log_not_p)

    def backward(self, grad):
        xp = get_array_module(grad)
        w = self.weight * grad
        needs = self.needs_input_grad
        gp = w * (self.p - self.target) / xp.maximum(self.p * (1 - self.p), GRAD_EPS) if needs[0] else None
        gt = w * (self.log_not_p - self.log_p) if needs[1] else None
        return gp, gt, None  # the weight is a constant, as in PyTorch


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002 - PyTorch's name
    """Binary cross entropy of probabilities ``input`` in [0, 1] against targets in [0, 1] of the same shape.

    ``weight`` rescales each element (broadcast, no gradient). log(0) is clamped to -100 as in PyTorch.
    Notice: if your model ends in a sigmoid, drop it and use ``binary_cross_entropy_with_logits`` on
    the logits instead; the two are the same loss, but that one never takes the log of a rounded 0.
    """
    _check_reduction(reduction)
    check_same_shape("binary_cross_entropy", input, target)
    if device_of(input.data) == "cpu":  # a device-wide check would stall the GPU every batch: CPU only
        p = input.data
        if ((p < 0) | (p > 1)).any():
            raise ValueError(f"binary_cross_entropy: input values must be probabilities in [0, 1], got values in "
                             f"[{float(p.min()):.4g}, {float(p.max()):.4g}]; pass logits to "
                             "binary_cross_entropy_with_logits (or apply sigmoid first)")
    losses = BinaryCrossEntropy.apply(input, target, weight)
    return _reduce(losses, reduction)


class KLDivergence(Function):
    # loss = t (log t - x) (0 where t = 0) ;  dloss/dx = -t, dloss/dt = log t + 1 - x
    # log_target: loss = e^t (t - x) ;  dloss/dx = -e^t, dloss/dt = e^t (t - x + 1)
    def __init__(self, log_target):
        self.log_target = log_target

    def forward(self, x, target):
        xp = get_array_module(x)
        self.x = x
        if self.log_target:
            self.prob = xp.exp(target)
            self.log_t = target
        else:
            self.prob = target
            self.log_t = xp.log(xp.where(target > 0, target, 1))  # t log t -> 0 as t -> 0
        return self.prob * (self.log_t - x)

    def backward(self, grad):
        xp = get_array_module(grad)
        gx = -self.prob * grad if self.needs_input_grad[0] else None
        gt = None
        if self.needs_input_grad[1]:
            gt = self.prob * (self.log_t - self.x + 1) if self.log_target else \
                xp.where(self.prob > 0, self.log_t + 1 - self.x, 0)
            gt = gt * grad
        return gx, gt


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002 - PyTorch's name
    """KL divergence ``sum t (log t - input)`` where ``input`` is LOG-probabilities and ``target`` probabilities.

    The order follows PyTorch (the opposite of the math notation KL(t || q)): pass ``log_softmax``
    output as ``input``. ``reduction="batchmean"`` divides the sum by the batch size (the true KL per
    sample); ``"mean"`` divides by the number of elements, which PyTorch keeps for compatibility
    and warns about, as here. ``log_target=True`` reads the target as log-probabilities too.
    """
    if reduction != "batchmean":
        _check_reduction(reduction)
    check_same_shape("kl_div", input, target)
    losses = KLDivergence.apply(input, target, log_target=bool(log_target))
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides by the number of elements, not the batch size; use "
                      "reduction='batchmean' for the KL divergence per sample (PyTorch warns the same)",
                      UserWarning, stacklevel=2)
    return _reduce(losses, reduction)


class BinaryCrossEntropyWithLogits(Function):
    # loss = w [(1 - t) x + l softplus(-x)], l = 1 + (pw - 1) t ;  dloss/dx = w [(1 - t) - l sigmoid(-x)]
    def forward(self, x, target, weight, pos_weight):
        xp = get_array_module(x)
        self.weight, self.pos_weight = weight, pos_weight
        e = xp.exp(-abs(x))  # never overflows; softplus(-x) and sigmoid(-x) are both built from it
        self.softplus_neg = xp.log1p(e) + xp.maximum(-x, 0)
        self.sigmoid_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e))
        self.x, self.target = x, target
        self.log_weight = 1 if self.pos_weight is None else 1 + (self.pos_weight - 1) * target
        losses = (1 - target) * x + self.log_weight * self.softplus_neg
        return losses if self.weight is None else losses * self.weight

    def backward(self, grad):
        w = grad if self.weight is None else grad * self.weight
        needs = self.needs_input_grad
        gx = w * ((1 - self.target) - self.log_weight * self.sigmoid_neg) if needs[0] else None
        gt = None
        if needs[1]:  # dloss/dt = w [-x + (pw - 1) softplus(-x)]
            gt = -self.x if self.pos_weight is None else -self.x + (self.pos_weight - 1) * self.softplus_neg
            gt = w * gt
        return gx, gt, None, None  # weight and pos_weight are constants, as in PyTorch


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):  # noqa: A002
    """Sigmoid + binary cross entropy in one stable formula. input (logits), target in [0, 1]: same shape.

    ``weight`` rescales each element (broadcast); ``pos_weight`` (one value per class, the last axis)
    rescales the positive term to trade recall against precision. Both are constants (no gradient).
    Notice that the formula uses softplus(-x) = log(1 + e^-|x|) + max(-x, 0) instead of
    log(sigmoid(x)), which would give -inf.
    """
    _check_reduction(reduction)
    target_shape = as_tensor(target, like=input).shape
    if target_shape != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target shape {target_shape} must equal input shape "
                         f"{tuple(input.shape)}; reshape one (e.g. logits.squeeze(1) for (N, 1) logits)")
    losses = BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight)
    return _reduce(losses, reduction)
