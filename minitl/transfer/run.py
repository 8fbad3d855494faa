"""One transfer run as data: the unit a protocol (``minitl compare``) repeats over strategies, n and seeds.

    result = run_strategy("ft", lambda: SmallCNN(num_classes=5, weights="fashion-paired"),
                          target_train, target_test, n_per_class=5, seeds=Seeds(0, 1, 2), epochs=5, lr=0.01)
    result["test_accuracy"], result["seeds"], result["seconds"], result["describe"]

Steps: draw the few-shot subset (``seeds.subset``), build the model and give it a fresh head
(``seeds.head``), apply the strategy, train with the strategy's own ``fit`` (its phases, callbacks
and regulariser) on batches in ``seeds.order``'s order, evaluate. Caching (when asked for and
possible), training and evaluation are timed apart.
"""
import time

from ..data.loader import DataLoader
from ..data.splits import few_shot
from ..train.loop import evaluate
from .seeds import Seeds, seeded
from .strategies import get_strategy


def run_strategy(strategy, build_model, train_set, test_set, n_per_class, seeds=Seeds(), epochs=5, lr=0.01,
                 batch_size=16, momentum=0.9, weight_decay=0.0, **strategy_options):
    """Train and evaluate one strategy once; returns a JSON-able dict (see the module docstring)."""
    strategy = get_strategy(strategy, **strategy_options)
    subset = few_shot(train_set, n_per_class, seed=seeds.subset)
    model = build_model()
    with seeded(seeds.head):
        model.replace_head(len(subset.classes))
    model = strategy.apply(model)
    description = strategy.describe(model, lr)
    loader = DataLoader(subset, batch_size=batch_size, shuffle=True, seed=seeds.order)
    started = time.perf_counter()
    history = strategy.fit(model, loader, epochs=epochs, lr=lr, momentum=momentum, weight_decay=weight_decay)
    trained = time.perf_counter()
    scores = evaluate(model, DataLoader(test_set, batch_size=500))
    evaluated = time.perf_counter()
    return {"strategy": strategy.name or type(strategy).__name__, "options": strategy.options(),
            "n_per_class": n_per_class, "seeds": seeds.as_dict(), "epochs": epochs, "lr": lr,
            "batch_size": batch_size, "test_accuracy": scores["accuracy"], "test_loss": scores["loss"],
            "train_loss": [e.get("train_loss") for e in history.epochs], "trainable": description.trainable,
            "describe": str(description),
            "seconds": {"cache": 0.0, "train": trained - started, "evaluate": evaluated - trained}}
