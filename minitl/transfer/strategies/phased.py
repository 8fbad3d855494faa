"""Strategies that change the loss or the run itself: L2SP (a penalty) and LPFT (two phases).

* ``L2SP(alpha, beta)`` (Li et al. 2018): everything trains, but the loss gains
  ``alpha/2 * ||w_backbone - w0||^2 + beta/2 * ||w_head||^2``, with ``w0`` the pretrained backbone
  weights saved by ``apply``. Plain weight decay pulls weights toward 0, forgetting the pretrained
  solution; L2-SP pulls them toward where they started. ``fit`` adds it through its
  ``regularizer=`` hook; the optimizer's own weight decay should then be 0 (``optimizer`` forces it).
* ``LPFT(probe_fraction=0.5)`` (Kumar et al. 2022): a linear probe first (backbone frozen), then a
  fine-tune of everything with a fresh optimizer and a fresh schedule. A head trained first means
  the fine-tune's early gradients do not tear up the features to fit a random head.
"""
import math

from ...core.ops.reduce import sum as reduce_sum
from ...core.tensor import Tensor
from ...train.history import History
from ...train.loop import fit
from .base import Strategy, cosine_per_step
from .freezing import FineTune, reset


class L2SPPenalty:
    """``penalty(model)`` -> scalar Tensor: ``alpha/2 sum (w - w0)^2`` (backbone) + ``beta/2 sum w^2`` (head).

    ``reference``: ``{name: array}`` of the starting weights (copies). Only trainable parameters count.
    """

    def __init__(self, reference, head_names, alpha, beta):
        self.reference, self.head_names = reference, set(head_names)
        self.alpha, self.beta = float(alpha), float(beta)

    def __call__(self, model):
        terms = []
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            if name in self.head_names:
                terms.append(reduce_sum(p * p) * (self.beta / 2))             # beta/2 ||w_head||^2
            elif name in self.reference:
                diff = p - Tensor(self.reference[name], device=p.device)
                terms.append(reduce_sum(diff * diff) * (self.alpha / 2))      # alpha/2 ||w - w0||^2
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


class L2SP(Strategy):
    """Everything trains; a penalty pulls the backbone toward its pretrained weights (see the module)."""

    def __init__(self, alpha=0.01, beta=0.01):
        self.alpha, self.beta = float(alpha), float(beta)
        self.penalty = None

    def options(self):
        return {"alpha": self.alpha, "beta": self.beta}

    def apply(self, model):
        reset(model)
        head = {f"{model.head_path}.{key}" for key in model.head.state_dict()}
        reference = {name: p.data.copy() for name, p in model.named_parameters() if name not in head}
        self.penalty = L2SPPenalty(reference, head, self.alpha, self.beta)
        return model

    def optimizer(self, model, lr, momentum=0.9, weight_decay=0.0):
        return super().optimizer(model, lr, momentum=momentum, weight_decay=0.0)  # the penalty replaces decay

    def regularizer(self, model):
        if self.penalty is None:
            raise RuntimeError("L2SP: call apply(model) first; it records the pretrained weights w0")
        return self.penalty

    def notes(self, model):
        return [f"loss + {self.alpha}/2 ||w_backbone - w0||^2 + {self.beta}/2 ||w_head||^2 (w0: weights at apply)"]


def merge_histories(first, second, labels=("probe", "fine-tune")):
    """One History of two consecutive runs: steps and epochs renumbered, each record tagged with ``phase``."""
    merged = History()
    step_offset = first.total_steps
    epoch_offset = len(first.epochs)
    for record in first.steps:
        merged.steps.append(dict(record, phase=labels[0]))
    for record in second.steps:
        merged.steps.append(dict(record, step=record["step"] + step_offset,
                                 epoch=record["epoch"] + epoch_offset, phase=labels[1]))
    for record in first.epochs:
        merged.epochs.append(dict(record, phase=labels[0]))
    for record in second.epochs:
        merged.epochs.append(dict(record, epoch=record["epoch"] + epoch_offset, phase=labels[1]))
    return merged


class LPFT(Strategy):
    """Linear probe for ``probe_fraction`` of the epochs, then fine-tune all (backbone at ``backbone_lr_scale``)."""

    def __init__(self, probe_fraction=0.5, backbone_lr_scale=1.0):
        if not 0 < probe_fraction < 1:
            raise ValueError(f"LPFT: probe_fraction must be between 0 and 1, got {probe_fraction}")
        self.probe_fraction, self.backbone_lr_scale = float(probe_fraction), float(backbone_lr_scale)

    def options(self):
        return {"probe_fraction": self.probe_fraction, "backbone_lr_scale": self.backbone_lr_scale}

    def apply(self, model):
        reset(model).freeze_to(-1)  # phase 1: a linear probe
        return model

    def unfreeze_for_finetune(self, model):
        """Phase 2's set-up: ``FineTune(backbone_lr_scale)``'s: everything trains, the backbone slower."""
        return FineTune(self.backbone_lr_scale).apply(model)

    def split_epochs(self, epochs):
        probe = min(max(1, math.floor(epochs * self.probe_fraction + 0.5)), epochs - 1)
        return probe, epochs - probe

    def notes(self, model):
        return [f"phase 1 (this table): probe for {self.probe_fraction:.0%} of the epochs; phase 2: all blocks",
                f"train (backbone lr_scale {self.backbone_lr_scale:g}) with a fresh optimizer and schedule"]

    def fit(self, model, train_loader, epochs, lr, momentum=0.9, weight_decay=0.0, val_loader=None,
            callbacks=(), verbose=False, stream=None):
        if epochs < 2:
            raise ValueError(f"LPFT needs at least 2 epochs (one per phase), got {epochs}")
        probe_epochs, tune_epochs = self.split_epochs(epochs)
        self.apply(model)
        first = super().fit(model, train_loader, probe_epochs, lr, momentum, weight_decay, val_loader,
                            callbacks, verbose, stream)
        self.unfreeze_for_finetune(model)
        optimizer = self.optimizer(model, lr, momentum=momentum, weight_decay=weight_decay)  # fresh state
        scheduler = cosine_per_step(optimizer, tune_epochs * len(train_loader))
        second = fit(model, optimizer, train_loader, epochs=tune_epochs, val_loader=val_loader,
                     scheduler=scheduler, scheduler_interval="step", callbacks=list(callbacks),
                     verbose=verbose, stream=stream)
        return merge_histories(first, second)
