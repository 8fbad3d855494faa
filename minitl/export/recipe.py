"""The fine-tuning recipe of a minitl run as plain JSON, for ``finetune.py`` and ``train_ddp.py`` to rebuild in torch.

What minitl means by its knobs, and what each becomes in PyTorch:

* a frozen module: its parameters get ``requires_grad_(False)`` (``frozen_parameters``) **and** each
  BatchNorm inside it is put back in ``eval()`` after every ``model.train()`` (``frozen_batchnorms``):
  the fourth effect of minitl's frozen, which PyTorch does not do by itself;
* ``lr_scale`` (the product from a parameter's module up to the root, times its group's ``lr_scale``):
  the parameters of one minitl group are split into torch param groups of equal scale, each with
  ``lr = group lr x scale``. minitl scales the update, torch's group lr scales the update too, so
  SGD (momentum, weight decay) and Adam/AdamW move each parameter by the same amount;
* the optimizer's other hyper-parameters, copied per group; the schedule, as the torch scheduler of
  the same name (its factor applies to every group alike, as minitl's does).

Talks to: ``optim`` (the optimizers and schedules it reads), ``nn.tree`` (``effective_lr_scale``),
``nn.layers.norm`` (which modules are BatchNorms), ``train.checkpoint`` (``frozen_modules``).
"""
from ..core.layers import _BatchNorm
from ..core.module import effective_lr_scale
from ..core.optim import SGD
from ..optim import lr_scheduler as schedules
from ..optim.adam import Adam, AdamW
from ..train.checkpoint import frozen_modules
from ..version import __version__
from .errors import ExportError

FORMAT = "minitl-torch-recipe"
FORMAT_VERSION = 1

# minitl optimizer -> (torch.optim class name, the group hyper-parameters torch takes)
OPTIMIZERS = {
    SGD: ("SGD", ("momentum", "dampening", "weight_decay", "nesterov")),
    Adam: ("Adam", ("betas", "eps", "weight_decay", "amsgrad")),
    AdamW: ("AdamW", ("betas", "eps", "weight_decay", "amsgrad")),
}


def frozen_batchnorms(model) -> list:
    """Names of the BatchNorms that minitl treats as frozen: running statistics used, never updated."""
    return [name for name, m in model.named_modules() if isinstance(m, _BatchNorm) and m.frozen]


def optimizer_groups(model, optimizer) -> dict:
    """``{"name": "SGD", "groups": [...]}``: torch param groups with minitl's effective learning rates.

    A minitl group whose parameters have different ``lr_scale`` products becomes one torch group per
    product, in the order first met; frozen parameters stay in their group (torch skips a parameter
    without a gradient, and an unfrozen one then trains at the right rate).
    """
    kind = type(optimizer)
    if kind not in OPTIMIZERS:
        raise ExportError(f"optimizer {kind.__name__} has no PyTorch counterpart that the exporter knows "
                          f"(known: {', '.join(c.__name__ for c in OPTIMIZERS)}); build the run with one of them")
    torch_name, keys = OPTIMIZERS[kind]
    names = {id(p): name for name, p in model.named_parameters()}
    groups = []
    for index, group in enumerate(optimizer.param_groups):
        base_lr = float(group.get("initial_lr", group["lr"]))
        by_scale = {}
        for p in group["params"]:
            if id(p) not in names:
                raise ExportError(f"param group {index} holds a parameter of shape {tuple(p.shape)} that is not in "
                                  "the exported model; build the optimizer on this model's parameters")
            scale = float(group.get("lr_scale", 1.0)) * effective_lr_scale(p)
            by_scale.setdefault(scale, []).append(names[id(p)])
        for scale, params in by_scale.items():
            entry = {"params": params, "lr": base_lr * scale, "minitl_group": index, "minitl_lr": base_lr,
                     "lr_scale": scale}
            entry.update({key: list(group[key]) if isinstance(group[key], tuple) else group[key] for key in keys})
            if "name" in group:
                entry["name"] = group["name"]
            groups.append(entry)
    return {"name": torch_name, "groups": groups}


def _linear_lr(s):
    if s.total_iters == 0:  # minitl: a ramp of no steps starts at end_factor; torch would divide by zero
        return {"name": "ConstantLR", "args": {"factor": s.end_factor, "total_iters": 0}}
    return {"name": "LinearLR", "args": {"start_factor": s.start_factor, "end_factor": s.end_factor,
                                         "total_iters": s.total_iters}}


def _is_constant(s) -> bool:
    return type(s) is schedules.LambdaLR and all(s.lr_lambda(t) == 1.0 for t in (0, 1, 10, 1000))


def _sequential(s, uniform):
    inner = [{"name": "ConstantLR", "args": {"factor": 1.0, "total_iters": 0}} if _is_constant(one)
             else scheduler_spec(one, uniform) for one in s.schedulers]
    return {"name": "SequentialLR", "schedulers": inner, "milestones": list(s.milestones)}


def _cosine(s, uniform):
    if s.eta_min and not uniform:
        raise ExportError(f"CosineAnnealingLR(eta_min={s.eta_min}) with lr_scale: minitl scales eta_min with each "
                          "parameter's lr_scale, torch's eta_min is one rate for every group; use eta_min=0 or "
                          "export without lr_scale")
    return {"name": "CosineAnnealingLR", "args": {"T_max": s.T_max, "eta_min": s.eta_min}}


SCHEDULES = {
    schedules.StepLR: lambda s, uniform: {"name": "StepLR", "args": {"step_size": s.step_size, "gamma": s.gamma}},
    schedules.MultiStepLR: lambda s, uniform: {"name": "MultiStepLR", "args": {"milestones": list(s.milestones),
                                                                               "gamma": s.gamma}},
    schedules.ExponentialLR: lambda s, uniform: {"name": "ExponentialLR", "args": {"gamma": s.gamma}},
    schedules.CosineAnnealingLR: _cosine,
    schedules.LinearLR: lambda s, uniform: _linear_lr(s),
    schedules.SequentialLR: _sequential,
    schedules.LinearWarmup: _sequential,
}


def scheduler_spec(scheduler, uniform=True):
    """``{"name": torch scheduler class, "args": {...}}`` for a minitl schedule; ExportError if it has none.

    ``uniform``: every torch group has lr_scale 1 (then an ``eta_min`` means the same in both).
    """
    kind = type(scheduler)
    if kind not in SCHEDULES:
        raise ExportError(f"the schedule {kind.__name__} is not exported (a LambdaLR holds Python code; OneCycleLR "
                          f"and SlantedTriangularLR have no same-named torch form here). Exported: "
                          f"{', '.join(c.__name__ for c in SCHEDULES)}; use one of them, or write the schedule "
                          "in finetune.py yourself")
    return SCHEDULES[kind](scheduler, uniform)


def build_recipe(model, optimizer, scheduler=None, scheduler_interval="epoch", training=None, data=None) -> dict:
    """Everything ``finetune.py`` needs besides the weights, as one JSON-able dict."""
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    optimizer_spec = optimizer_groups(model, optimizer)
    schedule = None
    if scheduler is not None:
        uniform = all(group["lr_scale"] == 1.0 for group in optimizer_spec["groups"])
        schedule = dict(scheduler_spec(scheduler, uniform), interval=scheduler_interval,
                        steps_done=max(int(scheduler.last_epoch), 0))
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "minitl_version": __version__,
        "model": {"class": type(model).__name__, "config": getattr(model, "config", None)},
        "frozen_modules": frozen_modules(model),
        "frozen_parameters": [name for name, p in model.named_parameters() if not p.requires_grad],
        "frozen_batchnorms": frozen_batchnorms(model),
        "lr_scales": {name: m.lr_scale for name, m in model.named_modules() if m.lr_scale is not None},
        "optimizer": optimizer_spec,
        "scheduler": schedule,
        "training": dict(training or {}),
        "data": data,
    }
