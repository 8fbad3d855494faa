"""Losses as layers, as PyTorch's ``nn.CrossEntropyLoss()`` and friends: ``loss = criterion(output, target)``.

Each one stores its settings and calls the functional loss through ``F`` (forward and backward live
in ``core/ops/loss.py``, ``distance_loss.py`` and ``probability_loss.py``). Class weights and
``pos_weight`` are buffers, so ``criterion.to("cuda")`` moves them with the module.
PyTorch's deprecated ``size_average`` / ``reduce`` are still read, with PyTorch's meaning.
"""
from ...core.module import Module
from .. import functional as F


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's old two flags -> ``reduction``: reduce=False is "none", size_average=False is "sum"."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


class _Loss(Module):
    """Shared base: the reduction, and weights kept as buffers (moved by ``.to``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", **buffers):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)
        for name, value in buffers.items():
            self.register_buffer(name, value)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """``cross_entropy(input, target)``: raw scores (N, C) against class indices (N,) or probabilities (N, C)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction, weight=weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                                  reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """``nll_loss(input, target)``: log-probabilities (``LogSoftmax`` output) against class indices."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``."""

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above it."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_Loss):
    """Binary cross entropy of probabilities (after a sigmoid); ``BCEWithLogitsLoss`` is the stable one."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy in one stable formula, on logits."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction, weight=weight, pos_weight=pos_weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, pos_weight=self.pos_weight,
                                                     reduction=self.reduction)


class KLDivLoss(_Loss):
    """``kl_div(input, target)``: input LOG-probabilities, target probabilities; prefer ``reduction="batchmean"``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
