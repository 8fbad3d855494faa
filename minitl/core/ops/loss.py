"""Loss functions: cross entropy and NLL for classes (the others, mean squared error among them: ``functional/``).

Each loss is an elementwise (per-sample) op followed by a reduction, written the way PyTorch defines
it: ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (the per-sample losses).

``cross_entropy`` is ``log_softmax`` followed by ``nll_loss``: the log-softmax subtracts the row
maximum, so logits of 1e4 give finite losses. Class weights, ``ignore_index`` and label smoothing
all become one (N, C) matrix ``q`` of how much each log-probability counts, so the NLL op is just
``loss_i = -sum_c q_ic log p_ic``.

Before computing anything a classification loss recognises two classic mistakes (``check_class_target``):
arguments swapped, ``cross_entropy(labels, logits)``, and float class labels, ``labels.float()`` (a float
target is read as class *probabilities* of shape (N, C)). A class out of range raises an IndexError naming it.
"""
import numpy

from .. import seams
from ..backend import get_array_module
from ..tensor import Function, Tensor, data_of
from .activation import LogSoftmax, Softmax, log_softmax


def _dtype_and_shape(value):
    if isinstance(value, Tensor):
        return value.dtype, tuple(value.shape)
    array = numpy.asarray(value)
    return array.dtype, array.shape


def check_class_target(name, input, target):  # noqa: A002 - PyTorch's name
    """Raise a TypeError / ValueError saying what is wrong and what to write, for ``name(input, target)``."""
    input_dtype, input_shape = _dtype_and_shape(input)
    target_dtype, target_shape = _dtype_and_shape(target)
    if input_dtype.kind in "biu" or (len(input_shape) == 1 and target_dtype.kind == "f" and len(target_shape) == 2):
        raise TypeError(f"{name}: the arguments look swapped: input has dtype {input_dtype} and shape "
                        f"{input_shape}, target {target_dtype} and {target_shape}. {name}(input, target) takes the "
                        f"model's scores (N, C) first and the class labels (N,) second: write {name}(logits, labels)")
    if target_dtype.kind == "f" and len(input_shape) >= 2 and \
            target_shape == input_shape[:1] + input_shape[2:]:
        raise TypeError(f"{name}: target holds float class labels ({target_dtype}, shape {target_shape}); class "
                        "labels must be integers: pass target.long() (a float target is read as class "
                        f"probabilities of the input's shape {input_shape})")


REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses, reduction):
    """Per-sample losses -> the requested reduction."""
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


# ----- classification: negative log-likelihood and cross entropy -----

class WeightedNLL(Function):
    # loss_i = -sum_c q_ic log_p_ic, summed over i (divided by ``divisor`` for the mean) ;  dloss/dlog_p_ic = -q_ic
    def __init__(self, target_weights, reduction="none", divisor=None):
        self.q, self.reduction, self.divisor = target_weights, reduction, divisor

    def forward(self, log_probs):
        losses = -(self.q * log_probs).sum(axis=1)
        if self.reduction == "none":
            return losses
        total = losses.sum()
        if self.reduction == "mean":
            total = total / self.divisor
        return get_array_module(losses).asarray(total)

    def backward(self, grad):
        # BEGIN SOLUTION cross_entropy
        if self.reduction == "none":
            return -self.q * grad[:, None]
        return -self.q * (grad / self.divisor if self.reduction == "mean" else grad)
        # END SOLUTION


def _target_weights(target, num_classes, weight, ignore_index, label_smoothing, dtype):
    """The (N, C) matrix q of how much each log-probability counts, and the divisor of the mean.

    Class target y_i: q_i = (1 - s) w[y_i] onehot(y_i) + (s / C) w, and zero when y_i == ignore_index;
    the mean divides by sum of w[y_i] over the kept samples (PyTorch's rule). Probability targets
    (float, shape (N, C)): q_i = w * ((1 - s) t_i + s / C), and the mean divides by N.
    """
    xp = get_array_module(target)
    n, c = target.shape[0], num_classes
    w = xp.ones(c, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
    smoothing = label_smoothing / c
    if target.dtype.kind == "f":
        q = w * ((1 - label_smoothing) * target.astype(dtype, copy=False) + smoothing)
        return q, None
    kept = target != ignore_index
    # CuPy would wrap a bad index silently: every target is checked. On the GPU a guard may take the
    # check over (the ``class_target`` seam) so that it waits on the device instead of syncing each batch.
    bad = kept & ((target < 0) | (target >= c))
    out_of_range = lambda value: IndexError(f"class target {value} is out of range for {c} classes "  # noqa: E731
                                            f"(targets are 0..{c - 1}, or ignore_index={ignore_index})")
    check = seams.plugged_in["class_target"]
    if check is not None and type(bad) is not numpy.ndarray:
        check(bad, target, out_of_range)
    elif bad.any():
        raise out_of_range(target[bad].reshape(-1)[0].item())
    safe_target = xp.where(kept, target, 0)
    target_weight = w[safe_target] * kept  # w[y_i], 0 for ignored samples
    q = xp.zeros((n, c), dtype=dtype)
    q[xp.arange(n), safe_target] = (1 - label_smoothing) * target_weight  # one entry per row: no repeats
    if label_smoothing:
        q += smoothing * w * kept[:, None].astype(dtype)
    return q, target_weight.sum()


def _nll(log_probs, target, weight, ignore_index, reduction, label_smoothing):
    """Shared body of nll_loss and cross_entropy: class axis 1, any number of trailing axes."""
    _check_reduction(reduction)
    if log_probs.ndim < 2:
        raise ValueError(f"expected log-probabilities of shape (N, C) or (N, C, d1, ...), got {tuple(log_probs.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0 and 1, got {label_smoothing}")
    c = log_probs.shape[1]
    given_target = target
    target = data_of(target, like=log_probs)
    soft = target.dtype.kind == "f"
    expected = tuple(log_probs.shape) if soft else (log_probs.shape[0],) + tuple(log_probs.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"target shape {tuple(target.shape)} does not match input shape "
                         f"{tuple(log_probs.shape)}: expected {expected}")
    if soft and getattr(given_target, "requires_grad", False):
        return _trainable_soft_target_nll(log_probs, given_target, data_of(weight, like=log_probs), reduction,
                                          label_smoothing)
    per_sample_shape = expected if not soft else expected[:1] + expected[2:]
    if log_probs.ndim > 2:  # (N, C, d1, ...) -> (N*d1*..., C): every position is a sample
        log_probs = log_probs.permute(0, *range(2, log_probs.ndim), 1).reshape(-1, c)
        xp = get_array_module(target)
        target = xp.moveaxis(target, 1, -1).reshape(-1, c) if soft else target.reshape(-1)
    q, divisor = _target_weights(target, c, data_of(weight, like=log_probs), ignore_index, label_smoothing,
                                 log_probs.dtype)
    if reduction == "none" or (reduction == "mean" and divisor is None):  # per sample, or probability targets' mean
        losses = WeightedNLL.apply(log_probs, target_weights=q)
        return losses.reshape(per_sample_shape) if reduction == "none" else losses.mean()
    return WeightedNLL.apply(log_probs, target_weights=q, reduction=reduction, divisor=divisor)


def _trainable_soft_target_nll(log_probs, target, weight, reduction, label_smoothing):
    """Probability targets that require grad (distillation, learned labels): built from recorded ops,
    so the target gets its gradient too: dloss_i/dt_ic = -(1 - s) w_c log_p_ic, as PyTorch."""

    xp = get_array_module(log_probs.data)
    c = log_probs.shape[1]
    w = xp.ones(c, dtype=log_probs.dtype) if weight is None else weight.astype(log_probs.dtype, copy=False)
    w = Tensor(w.reshape((1, c) + (1,) * (log_probs.ndim - 2)), dtype=log_probs.dtype)
    q = target * (w * (1 - label_smoothing)) + w * (label_smoothing / c)
    losses = -(q * log_probs).sum(1)
    return losses if reduction == "none" else _reduce(losses, reduction)


def nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target classes. log_probs: (N, C) (log_softmax output), target: (N,) ints.

    ``weight`` (C,) scales each class; samples whose target is ``ignore_index`` count for nothing,
    and ``"mean"`` divides by the total weight of the samples that count. Trailing axes
    (N, C, d1, ...) with target (N, d1, ...) are extra samples, as in PyTorch.
    """
    check_class_target("nll_loss", log_probs, target)
    return _nll(log_probs, target, weight, ignore_index, reduction, 0.0)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross entropy from raw scores. logits: (N, C), target: (N,) class indices -> scalar.

    Same as ``nll_loss(log_softmax(logits, axis=1), ...)``. ``label_smoothing`` s mixes the one-hot
    target with the uniform distribution: (1 - s) onehot + s / C. A float target of shape (N, C)
    is read as class probabilities. Notice that no softmax is ever exponentiated unshifted, so
    huge logits are safe.
    """
    check_class_target("cross_entropy", logits, target)
    look = seams.plugged_in["class_scores"]  # a guard may warn about softmax outputs passed as logits:
    made_by = getattr(logits, "grad_fn", None)  # scores a recorded op other than softmax made are left alone
    if look is not None and (made_by is None or isinstance(made_by, Softmax)):
        look("cross_entropy", logits)
    log_probs = LogSoftmax.apply(logits, axis=1) if getattr(logits, "ndim", 0) >= 2 else log_softmax(logits, axis=1)
    return _nll(log_probs, target, weight, ignore_index, reduction, label_smoothing)


# ----- regression and binary classification -----
