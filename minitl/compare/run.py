"""One run of the grid: one strategy, one n, one repeat's seeds -> one JSON-able record.

    record = run_one(parse_strategy("ft"), n=5, repeat=0, seeds=run_seeds(0), task=load_task("paired"))

The steps, each with the engine's public pieces only:

1. the target subset: ``n`` images per class, drawn with ``seeds.subset`` (``protocol.target_subset``);
2. the model: the pretrained backbone with a new head drawn from ``seeds.head``; then
   ``strategy.apply`` (also under ``seeds.head``: ``scratch`` re-initialises everything from it);
3. training with the protocol (``protocol.py``): ``strategy.optimizer`` (SGD, momentum, weight
   decay), a cosine schedule per step (or a constant rate), ``max(300 steps, 20 epochs)``, batches
   in ``seeds.order``'s order, the strategy's callbacks and regulariser. When everything below the
   first trainable layer is frozen (``fe``), training runs on a ``FeatureCache``: the frozen prefix
   runs once (timed apart as ``cache_seconds``), not at every step. Strategies that run their own
   phases (``lp-ft``) train with ``strategy.fit``;
4. target test accuracy on the full target test set; the cost of one step from
   ``transfer.count_flops`` (in the state training ended in); and, for the fine-tune strategies,
   the source accuracy with the old head, raw and after BatchNorm re-estimation (forgetting).
"""
import time

import numpy

from ..core.backend import asnumpy
from ..data.loader import DataLoader
from ..train.loop import evaluate, fit
from ..transfer.cost import count_flops
from ..transfer.feature_cache import FeatureCache
from ..transfer.forgetting import source_accuracy
from ..transfer.seeds import seeded
from ..transfer.strategies.base import Strategy, cosine_per_step
from .protocol import Protocol, target_subset

EVAL_BATCH = 100  # the fastest batch for SmallCNN inference on a 2-core CPU


def backbone_state(model):
    """The backbone's parameters as host arrays (copies): to tell whether training moved them."""
    return {name: asnumpy(p.data).copy() for name, p in model.backbone.named_parameters()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(numpy.array_equal(a[k], b[k]) for k in a)


def first_block_frozen(model) -> bool:
    """True when every parameter of the first block is frozen: the prefix can be cached (effect 5)."""
    return all(p.frozen for p in model.blocks()[0].parameters())


def runs_own_phases(strategy) -> bool:
    """A strategy that overrides ``fit`` (LP-FT's two phases, Imprint's zero steps) trains itself."""
    return type(strategy).fit is not Strategy.fit


def start(spec, n, seeds, task):
    """``(strategy, model, subset)`` of one run before training: the subset drawn with ``seeds.subset``,
    the pretrained model with a new head from ``seeds.head``, the strategy applied (under ``seeds.head``
    too: ``scratch`` re-initialises every weight from it). The PyTorch twin starts from this same state."""
    strategy = spec.build()
    subset = task.target_train.subset(target_subset(task.target_train.labels, n, seeds))
    with seeded(seeds.head):
        model = strategy.apply(task.pretrained_model())
    return strategy, model, subset


def train(strategy, model, subset, spec, protocol, seeds, device=None):
    """Train ``model`` (already applied) on ``subset`` with the protocol; returns ``(seconds, cache info)``."""
    lr, schedule = spec.learning_rate(protocol), spec.schedule_name(protocol)
    batch, epochs = protocol.batch_size(len(subset)), protocol.epochs(len(subset))
    cache_info = {"cached": False, "cache_seconds": 0.0}
    if runs_own_phases(strategy):
        if schedule != "cosine":
            raise ValueError(f"compare: {spec.label}: {spec.name} runs its own phases with a cosine schedule; "
                             "drop schedule=constant")
        loader = DataLoader(subset, batch_size=batch, shuffle=True, seed=seeds.order, device=device)
        started = time.perf_counter()
        strategy.fit(model, loader, epochs, lr, momentum=protocol.momentum, weight_decay=protocol.weight_decay)
        return time.perf_counter() - started, cache_info
    trained = model
    if first_block_frozen(model) and not strategy.callbacks():
        cache = FeatureCache(model, subset, device=device)  # frozen, effect 5: the prefix runs once
        trained = cache.rest
        loader = cache.loader(batch_size=batch, shuffle=True, seed=seeds.order)
        cache_info = {"cached": True, "cache_seconds": cache.build_seconds}
    else:
        loader = DataLoader(subset, batch_size=batch, shuffle=True, seed=seeds.order, device=device)
    optimizer = strategy.optimizer(model, lr, momentum=protocol.momentum, weight_decay=protocol.weight_decay)
    scheduler = cosine_per_step(optimizer, epochs * len(loader)) if schedule == "cosine" else None
    started = time.perf_counter()
    fit(trained, optimizer, loader, epochs=epochs, scheduler=scheduler, scheduler_interval="step",
        callbacks=strategy.callbacks(), regularizer=strategy.regularizer(model), verbose=False)
    return time.perf_counter() - started, cache_info


def finetuned_any(model, pretrained):
    """True when some backbone weight moved away from the pretrained one."""
    return not _same_weights(backbone_state(model), pretrained)


def evaluate_target(model, task, frozen_backbone, shared=None, device=None):
    """Accuracy on the full target test set. With the pretrained backbone left untouched (``fe``), its
    features of the test images are the same in every run: computed once (a ``FeatureCache`` of the
    test set, kept in ``shared``) and only the run's own head is evaluated on them."""
    if frozen_backbone and shared is not None and len(model.blocks()) - 1 == _cut(model):
        cache = shared.get("test_features")
        if cache is None:
            cache = shared["test_features"] = FeatureCache(model, task.target_test, batch_size=EVAL_BATCH,
                                                           device=device)
        features = cache.features_dataset()
        return evaluate(model.head, DataLoader(features, batch_size=len(features), device=device))
    return evaluate(model, DataLoader(task.target_test, batch_size=EVAL_BATCH, device=device))


def _cut(model):
    blocks = model.blocks()
    return next((i for i, b in enumerate(blocks) if any(not p.frozen for p in b.parameters())), len(blocks))


def run_one(spec, n, repeat, seeds, task, protocol=None, forgetting=True, source_head=None, pretrained=None,
            shared=None, device=None):
    """One run as a dict (see the module docstring). ``source_head`` / ``pretrained`` (the backbone's
    pretrained arrays) and ``shared`` (a dict: FLOP counts, the test set's frozen features) may be
    passed in to share work across the runs of a comparison."""
    protocol = protocol or Protocol()
    strategy, model, subset = start(spec, n, seeds, task)
    pretrained = pretrained if pretrained is not None else backbone_state(task.pretrained_model())
    if device is not None:
        model.to(device)
    starts_pretrained = _same_weights(backbone_state(model), pretrained)
    train_seconds, cache_info = train(strategy, model, subset, spec, protocol, seeds, device)
    started = time.perf_counter()
    scores = evaluate_target(model, task, cache_info["cached"] and not finetuned_any(model, pretrained), shared,
                             device)
    eval_seconds = time.perf_counter() - started
    batch = protocol.batch_size(len(subset))
    flops = shared.setdefault("flops", {}) if shared is not None else {}
    key = (spec.label, batch)
    if key not in flops:
        table = count_flops(model, (batch,) + tuple(task.target_train.image_shape))
        flops[key] = {"forward_flops_per_step": int(table.forward_flops),
                      "backward_flops_per_step": int(table.backward_flops),
                      "trainable_params": int(table.trainable_parameters)}
    cost = flops[key]
    record = {"strategy": spec.label, "registry_name": spec.name, "options": dict(spec.options), "n": int(n),
              "seed": int(repeat), "seeds": seeds.as_dict(),
              "target_accuracy": float(scores["accuracy"]), "target_test_images": int(scores["samples"]),
              "train_seconds": float(train_seconds), "eval_seconds": float(eval_seconds), **cache_info,
              **cost, "batch_size": batch, "steps": protocol.steps(len(subset)),
              "epochs": protocol.epochs(len(subset)), "lr": spec.learning_rate(protocol),
              "schedule": spec.schedule_name(protocol), "fine_tune": False, "source_accuracy": None}
    finetuned = starts_pretrained and finetuned_any(model, pretrained)
    if finetuned:
        record["fine_tune"] = True
    if finetuned and forgetting:
        head = source_head if source_head is not None else task.source_model().head
        if device is not None:
            head.to(device)
        source = source_accuracy(model, head, DataLoader(task.source_test, batch_size=EVAL_BATCH, device=device),
                                 recalibrate_bn=True,
                                 calibration_loader=DataLoader(task.source_calibration, batch_size=250, device=device))
        record["source_accuracy"] = {"raw": float(source["accuracy"]),
                                     "recalibrated": float(source["recalibrated_accuracy"])}
    return record
