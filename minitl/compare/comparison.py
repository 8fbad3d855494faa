"""The whole comparison: every strategy x n x seed, then the verdicts, as one JSON-able result.

    result = compare(strategies="scratch,fe,ft", n="1,20", seeds=3)        # what `minitl compare` does
    result["runs"], result["verdicts"], result["settings"], result["wall_seconds"]

Runs are grouped by seed and n, so every strategy of one repeat is trained on the same subset right
after the others; the frozen strategies reuse their features through the feature cache. A progress
bar goes to stderr (``verbose``: None = only on a terminal, True = always, False = never).
"""
import time

from .. import weights as registry
from ..progress import make_bar, progress_mode
from ..version import __version__
from .grid import (
    DEFAULT_N,
    DEFAULT_SEEDS,
    DEFAULT_STRATEGIES,
    parse_sizes,
    parse_strategies,
)
from .protocol import Protocol, run_seeds
from .report import ComparisonResult
from .run import backbone_state, run_one
from .task import load_task
from .verdicts import verdicts

RESULT_FORMAT = "minitl-compare/1"


def compare(strategies=DEFAULT_STRATEGIES, n=DEFAULT_N, seeds=DEFAULT_SEEDS, split="paired", full=False,
            data=None, source=None, target=None, protocol=None, base_seed=0, device=None,
            forgetting_at="largest", verbose=None, stream=None, task=None, target_permute=None):
    """Run the grid and judge the claims; returns ``{"format", "settings", "runs", "verdicts", ...}``.

    ``forgetting_at``: "largest" (measure source accuracy at the largest n only, as the lecture
    table does) or "all". ``task``: a ready ``Task`` (tests), else built from split/full/data/source/target
    (``source``/``target``: class lists, or data set names such as "fashion" and "digits") and
    ``target_permute`` (the fraction of the target's pixel positions to shuffle).
    """
    started = time.perf_counter()
    protocol = protocol or Protocol()
    specs = parse_strategies(strategies)
    sizes = parse_sizes(n)
    repeats = int(seeds)
    if repeats < 1:
        raise ValueError(f"compare: --seeds must be at least 1, got {seeds}")
    task = task or load_task(split, full=full, data=data, source=source, target=target, verbose=verbose,
                             target_permute=target_permute)
    source_head = task.source_model().head
    pretrained = backbone_state(task.pretrained_model())
    shared = {}  # FLOP counts and the test set's frozen features, reused across runs
    total = len(specs) * len(sizes) * repeats
    bar = make_bar(progress_mode(verbose, stream), total, "compare", stream, unit="run", every_update=True)
    runs = []
    try:
        for repeat in range(repeats):
            seed_set = run_seeds(repeat, base_seed)
            for size in sizes:
                for spec in specs:
                    measure = forgetting_at == "all" or size == sizes[-1]
                    run = run_one(spec, size, repeat, seed_set, task, protocol, forgetting=measure,
                                  source_head=source_head, pretrained=pretrained, shared=shared, device=device)
                    runs.append(run)
                    bar.update(len(runs), {"last": f"{spec.label} n={size} seed {repeat}",
                                           "acc": f"{100 * run['target_accuracy']:.1f}%",
                                           "train": f"{run['train_seconds']:.1f}s"})
    finally:
        bar.close()
    settings = {"strategies": [spec.as_dict() for spec in specs], "n": list(sizes), "seeds": repeats,
                "base_seed": base_seed, "protocol": protocol.as_dict(), "task": task.as_dict(),
                "forgetting_at": forgetting_at, "device": device or "cpu", "minitl_version": __version__,
                "pretrained_source_accuracy": _pretrained_source_accuracy(task)}
    result = ComparisonResult(format=RESULT_FORMAT, settings=settings, runs=runs, verdicts=verdicts(runs, protocol.lr))
    result["wall_seconds"] = time.perf_counter() - started
    return result


def _pretrained_source_accuracy(task):
    return registry.entry(task.weights, task.where).get("source_test_accuracy")
