"""Strategies that are only a choice of what trains and how fast: frozen flags and lr_scales.

    Scratch()                 fresh init, everything trainable (the baseline transfer must beat)
    FeatureExtraction()       backbone frozen, only the head trains; frozen BatchNorm keeps its
                              running statistics (frozen, effect 4)
    FineTune(0.1)             everything trains, the backbone at 0.1 x the head's rate
    Discriminative(2.6)       ULMFiT: each block 2.6 x slower than the one above (``discriminative_lr``)
    GradualUnfreeze(every=1)  ULMFiT: head first, one more block every epoch (``GradualUnfreezing``)
    Surgical(block)           only one chosen block, plus the head (Lee et al. 2023)
    BatchNormOnly()           only BatchNorm scale/shift, plus the head
    BitFit()                  only biases, plus the head (Zaken et al. 2022), see the class

Each ``apply`` starts from a clean slate (everything unfrozen, every block's lr_scale cleared), so
applying a strategy to a model that another strategy set up gives the same result as applying it to
a fresh one.
"""
from ...core.layers import Conv2d, _BatchNorm
from ...optim.layerwise import discriminative_lr, set_lr_scale
from ...train.callbacks import GradualUnfreezing
from .base import Strategy


def reset(model):
    """Everything trainable, no lr_scale anywhere: the state each strategy starts from."""
    model.unfreeze()
    for module in model.modules():
        module.lr_scale = None
    return model


def only(model, names):
    """Freeze every parameter, then make exactly ``names`` (plus the head) trainable again."""
    reset(model)
    model.freeze()
    keep = set(names) | {f"{model.head_path}.{key}" for key in model.head.state_dict()}
    for name, p in model.named_parameters():
        if name in keep:
            p.frozen = False  # unfrozen: this one parameter trains again
    return model


class Scratch(Strategy):
    """Every weight freshly initialised (the model's own init, from the global seed), all trainable."""

    def apply(self, model):
        config = getattr(model, "config", None)
        if config is None:
            raise ValueError(f"Scratch: {type(model).__name__} has no .config to rebuild it from; "
                             "build a fresh model yourself")
        fresh = type(model)(**config)
        reset(model).load_state_dict(fresh.state_dict())
        return model


class FeatureExtraction(Strategy):
    """The backbone frozen (its BatchNorm uses running statistics), a new head trained on its features."""

    def apply(self, model):
        reset(model).freeze_to(-1)
        return model


class FineTune(Strategy):
    """All blocks train; the backbone at ``backbone_lr_scale`` x lr (``FineTune(1.0)``: one lr for all)."""

    def __init__(self, backbone_lr_scale=0.1):
        self.backbone_lr_scale = float(backbone_lr_scale)

    def options(self):
        return {"backbone_lr_scale": self.backbone_lr_scale}

    def apply(self, model):
        reset(model)
        for block in model.blocks()[:-1]:
            set_lr_scale(block, self.backbone_lr_scale)
        return model


class Discriminative(Strategy):
    """All blocks train; block i of n at ``factor ** -(n - 1 - i)`` x lr (``optim.discriminative_lr``)."""

    def __init__(self, factor=2.6):
        self.factor = float(factor)

    def options(self):
        return {"factor": self.factor}

    def apply(self, model):
        discriminative_lr(reset(model), factor=self.factor)
        return model


class GradualUnfreeze(Strategy):
    """Starts as FeatureExtraction; the ``GradualUnfreezing`` callback unfreezes one block every ``every`` epochs."""

    def __init__(self, every=1):
        self.every = int(every)

    def options(self):
        return {"every": self.every}

    def apply(self, model):
        reset(model).freeze_to(-1)
        return model

    def callbacks(self):
        return [GradualUnfreezing(every=self.every)]

    def notes(self, model):
        return [f"then one more block unfreezes (from the head down) every {self.every} epoch(s)"]


class Surgical(Strategy):
    """Only ``model.blocks()[block]`` and the head train (``block`` an index, negative allowed)."""

    def __init__(self, block=0):
        self.block = int(block)

    def options(self):
        return {"block": self.block}

    def apply(self, model):
        blocks = model.blocks()
        if not -len(blocks) <= self.block < len(blocks):
            raise IndexError(f"Surgical(block={self.block}): {type(model).__name__} has {len(blocks)} blocks "
                             f"(0..{len(blocks) - 1}, the last is the head)")
        reset(model).freeze()
        blocks[self.block].unfreeze()
        model.head.unfreeze()
        return model


class BatchNormOnly(Strategy):
    """Only BatchNorm scale (weight) and shift (bias), plus the head; BatchNorm then uses batch statistics."""

    def apply(self, model):
        names = [name for name, p in model.named_parameters() if isinstance(p.owner, _BatchNorm)]
        return only(model, names)


def bias_feeds_batchnorm(model):
    """Names of conv/linear biases whose output goes straight into a BatchNorm (in a Sequential).

    BatchNorm in training mode subtracts the batch mean, so a constant added just before it cancels:
    such a bias gets a gradient of exactly zero (in exact arithmetic) and cannot learn anything.
    """
    names = {id(module): name for name, module in model.named_modules()}
    found = []
    for module in model.modules():
        children = list(module.children())
        for layer, after in zip(children, children[1:]):
            if isinstance(layer, Conv2d) and getattr(layer, "bias", None) is not None and isinstance(after, _BatchNorm):
                found.append(f"{names[id(layer)]}.bias")
    return found


class BitFit(Strategy):
    """Only the biases, plus the head. A bias feeding a BatchNorm stays frozen: its gradient is zero
    (the BatchNorm's shift is the bias there, and it trains)."""

    def apply(self, model):
        dead = set(bias_feeds_batchnorm(model))
        names = [name for name, _ in model.named_parameters() if name.rsplit(".", 1)[-1] == "bias" and name not in dead]
        return only(model, names)

    def notes(self, model):
        dead = bias_feeds_batchnorm(model)
        if not dead:
            return []
        return [f"left frozen: {', '.join(dead)}",
                "(each feeds a BatchNorm, so its gradient is exactly 0; the BatchNorm's shift is the bias there)"]
