"""``minitl.transfer``: transfer learning made explicit.

    from minitl import transfer
    strategy = transfer.get_strategy("fe")              # or "ft", "lp-ft", "l2sp", "bitfit", ...
    model = strategy.apply(SmallCNN(num_classes=5, weights="fashion-paired"))
    print(strategy.describe(model, lr=0.01))            # what trains, how fast, what runs backward
    print(transfer.count_flops(model, (64, 1, 28, 28))) # MACs and FLOPs per layer, backward from what ran
    history = strategy.fit(model, loader, epochs=5, lr=0.01)

    strategies/      the strategies and their registry (get_strategy, register_strategy)
    feature_cache.py FeatureCache: run the frozen prefix once, train the rest on cached features
    cost.py          count_flops, memory by kind, measure_step (times), cost_comparison
    forgetting.py    source_accuracy: how much of the source task survives fine-tuning
    seeds.py         Seeds: separate seeds for the target subset, the head init and the batch order
    run.py           run_strategy: one few-shot run as a JSON-able record (what `minitl compare` repeats)
    pretrain.py      pretrain: the recipe behind the shipped weights/ (``minitl pretrain``)

Everything here is built on the engine's own mechanism (``frozen``, ``lr_scale``, ``fit``'s
regulariser hook, ``last_step_report``): a strategy is a set-up a student can print, never a
private shortcut.
"""
from .pretrain import pretrain  # noqa: I001 - pretrain first: it builds on the rest of minitl only
from .strategies import (STRATEGIES, Description, Strategy, describe_model, get_strategy, register_strategy,
                         strategy_names)
from .cost import CostComparison, FlopTable, cost_comparison, count_flops, measure_step
from .feature_cache import FeatureCache, FeatureCacheError
from .forgetting import source_accuracy
from .run import run_strategy
from .seeds import Seeds, seeded

__all__ = ["CostComparison", "Description", "FeatureCache", "FeatureCacheError", "FlopTable", "STRATEGIES", "Seeds",
           "Strategy", "cost_comparison", "count_flops", "describe_model", "get_strategy", "measure_step", "pretrain",
           "register_strategy", "run_strategy", "seeded", "source_accuracy", "strategy_names"]

from . import lora  # parameter-efficient fine-tuning (issue 17): lora.wrap / merge / unwrap
from .adapter import Adapter, add_adapter
from .prompt import VisualPrompt, add_prompt

__all__ += ["Adapter", "VisualPrompt", "add_adapter", "add_prompt", "lora"]
