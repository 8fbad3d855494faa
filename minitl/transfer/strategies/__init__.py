"""Named transfer-learning strategies: ``get_strategy(name, **options)`` and ``register_strategy``.

    strategy = get_strategy("ft", backbone_lr_scale=0.1)
    model = strategy.apply(SmallCNN(num_classes=5, weights="fashion-paired"))
    print(strategy.describe(model, lr=0.01))
    history = strategy.fit(model, train_loader, epochs=5, lr=0.01)

Names (in this order in ``strategy_names()``): scratch, fe, ft, lp-ft, gradual, discriminative,
l2sp, surgical, bn-only, bitfit, imprint, probe. A user registers their own the same way::

    @register_strategy("head-twice")
    class HeadTwice(FineTune): ...

Files: base.py (the interface, ``describe``), freezing.py (strategies that only set frozen /
lr_scale), phased.py (L2SP's penalty, LPFT's two phases), heads.py (Imprint, LinearProbe).
"""
from .base import Description, Strategy, block_names, describe_model, parameter_plan
from .freezing import (
    BatchNormOnly,
    BitFit,
    Discriminative,
    FeatureExtraction,
    FineTune,
    GradualUnfreeze,
    Scratch,
    Surgical,
    bias_feeds_batchnorm,
)
from .heads import Imprint, LinearProbe, ProbeModel, backbone_features
from .peft import Adapters, LoRA, Prompt
from .phased import L2SP, LPFT, L2SPPenalty

STRATEGIES = {}  # name -> Strategy subclass, in registration order


def register_strategy(name, cls=None):
    """Register ``cls`` under ``name`` (as a call, or as a class decorator); a name may be replaced."""

    def register(strategy_class):
        if not (isinstance(strategy_class, type) and issubclass(strategy_class, Strategy)):
            raise TypeError(f"register_strategy({name!r}): {strategy_class!r} is not a Strategy subclass")
        STRATEGIES[str(name)] = strategy_class
        return strategy_class

    return register if cls is None else register(cls)


def get_strategy(name, **options):
    """A new strategy object: ``get_strategy("ft", backbone_lr_scale=0.1)``; a clear error for unknown names."""
    if isinstance(name, Strategy):
        return name
    if name not in STRATEGIES:
        raise KeyError(f"no strategy named {name!r}; known: {', '.join(STRATEGIES)} "
                       "(add your own with minitl.transfer.register_strategy)")
    strategy = STRATEGIES[name](**options)
    strategy.name = name
    return strategy


def strategy_names():
    return [*STRATEGIES]


for _name, _class in [("scratch", Scratch), ("fe", FeatureExtraction), ("ft", FineTune), ("lp-ft", LPFT),
                      ("gradual", GradualUnfreeze), ("discriminative", Discriminative), ("l2sp", L2SP),
                      ("surgical", Surgical), ("bn-only", BatchNormOnly), ("bitfit", BitFit), ("imprint", Imprint),
                      ("probe", LinearProbe)]:
    register_strategy(_name, _class)

__all__ = ["BatchNormOnly", "BitFit", "Description", "Discriminative", "FeatureExtraction", "FineTune",
           "GradualUnfreeze", "Imprint", "L2SP", "L2SPPenalty", "LPFT", "LinearProbe", "ProbeModel", "STRATEGIES",
           "Scratch", "Strategy", "Surgical", "backbone_features", "bias_feeds_batchnorm", "block_names",
           "describe_model", "get_strategy", "parameter_plan", "register_strategy", "strategy_names"]


for _name, _class in [("lora", LoRA), ("adapter", Adapters), ("prompt", Prompt)]:
    register_strategy(_name, _class)
__all__ += ["Adapters", "LoRA", "Prompt"]
