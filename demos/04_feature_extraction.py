"""Demo 4: feature extraction: a frozen pretrained backbone, a new head, and what freezing saves.

Run:  python demos/04_feature_extraction.py [--smoke]
What to notice: ``summary()`` counts the frozen layers as non-trainable; after a training step the
backbone's ``.grad`` is None (never computed, not zero); training on cached features gives the same
head as training through the frozen backbone, in a fraction of the time; the cost table puts the
FLOP ratio of a frozen-backbone step beside the measured time ratio of a full fine-tune step.
"""
import argparse
import time

import numpy

from minitl import transfer
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.optim import SGD
from minitl.train import evaluate, fit
from minitl.transfer import FeatureCache, cost_comparison, get_strategy, seeded


def build(task, strategy):
    with seeded(1):  # the same new head every time
        return get_strategy(strategy).apply(task.pretrained_model())


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="fewer epochs (CI)")
    args = parser.parse_args(argv)
    task = load_task("paired")
    train = few_shot(task.target_train, 20, seed=0)
    epochs = 2 if args.smoke else 30
    print(f"set-up: n = 20 labelled images per class ({len(train)} in all) of the paired target task, 1 seed "
          f"(images 0, head 1, batch order 0), {epochs} epochs, SGD lr 0.05 momentum 0.9; test on "
          f"{len(task.target_test)} target images")

    model = build(task, "fe")
    model.summary((1, 1, 28, 28))
    print(get_strategy("fe").describe(model, lr=0.05))

    optimizer = SGD(model, lr=0.05, momentum=0.9, weight_decay=5e-4)
    started = time.perf_counter()
    fit(model, optimizer, DataLoader(train, batch_size=32, shuffle=True, seed=0), epochs=epochs, verbose=False)
    uncached = time.perf_counter() - started
    print(f"after training: backbone.block1[0].weight.grad is {model.backbone.block1[0].weight.grad}, "
          f"head.weight.grad has shape {model.head.weight.grad.shape}")

    cached_model = build(task, "fe")
    cache = FeatureCache(cached_model, train)           # the frozen prefix runs once, here
    optimizer = SGD(cached_model, lr=0.05, momentum=0.9, weight_decay=5e-4)
    started = time.perf_counter()
    fit(cache.rest, optimizer, cache.loader(batch_size=32, shuffle=True, seed=0), epochs=epochs, verbose=False)
    cached = time.perf_counter() - started
    same = numpy.allclose(model.head.weight.numpy(), cached_model.head.weight.numpy(), atol=1e-5)
    test = DataLoader(task.target_test, batch_size=100)
    print(f"uncached training {uncached:.2f} s, cached {cached:.2f} s (+ {cache.build_seconds:.2f} s to build the "
          f"cache): {uncached / max(cached + cache.build_seconds, 1e-9):.1f}x faster; same head weights: {same}")
    print(f"test accuracy: {evaluate(model, test)['accuracy']:.1%} (uncached), "
          f"{evaluate(cached_model, test)['accuracy']:.1%} (cached)")

    images, labels = train.get_batch(numpy.arange(32))
    from minitl import tensor  # noqa: PLC0415

    x, y = tensor(images), tensor(labels)
    setups = {name: (m, SGD(m, lr=0.05, momentum=0.9)) for name, m in
              (("frozen backbone", build(task, "fe")), ("full fine-tune", build(task, "ft")))}
    print(cost_comparison(setups, x, y, repeats=1 if args.smoke else 5))
    print(transfer.count_flops(setups["frozen backbone"][0], (32, 1, 28, 28)))


if __name__ == "__main__":
    main()
