"""Optimizers and learning-rate schedules: how parameters move, given their gradients.

``SGD``, ``Adam``, ``AdamW`` follow PyTorch's equations and accept a Module, parameters, or param
groups. They read ``frozen`` and ``lr_scale`` at every ``step()`` (see ``core/optim.py``), and
``last_step_report()`` shows what each parameter's update was. ``lr_scheduler`` holds the schedules;
``layerwise`` the fine-tuning helpers (discriminative rates, layer decay, no-decay groups).
"""
from ..core.optim import SGD, Optimizer
from . import lr_scheduler, state_dict  # state_dict plugs Optimizer.state_dict()/load_state_dict() in
from .adam import Adam, AdamW
from .layerwise import BlockScales, discriminative_lr, layer_decay, param_groups
from .report import StepReport, SyncReport
from .unknown import UnknownParameterWarning  # also plugs the unknown-parameter guard and sync() in

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "UnknownParameterWarning", "StepReport", "SyncReport",
           "BlockScales", "discriminative_lr", "layer_decay", "param_groups", "lr_scheduler"]
