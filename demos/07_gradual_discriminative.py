"""Demo 7: gradual unfreezing and discriminative learning rates (ULMFiT, Howard & Ruder 2018).

Run:  python demos/07_gradual_discriminative.py [--smoke]
What to notice: ``gradual`` starts as feature extraction and unfreezes one more block every few
epochs (every 6 here, every epoch in --smoke: the "trainable blocks" line lists each stretch of
epochs); ``discriminative`` trains every block, each 2.6x slower than the one above it (the
describe table's lr column). Both are frozen / lr_scale settings the optimizer reads at every
step, nothing more.
"""
import argparse
import itertools

from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded


def stretches(blocks):
    """``[[2], [2], [1, 2]]`` -> ``"epochs 1-2: blocks [2]; epoch 3: blocks [1, 2]"``: every epoch accounted for."""
    parts, epoch = [], 1
    for value, group in itertools.groupby(blocks):
        count = len(list(group))
        span = f"epoch {epoch}" if count == 1 else f"epochs {epoch}-{epoch + count - 1}"
        parts.append(f"{span}: blocks {value}")
        epoch += count
    return "; ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="few epochs (CI)")
    args = parser.parse_args(argv)
    task = load_task("paired")
    n, epochs, every = (1, 4, 1) if args.smoke else (20, 24, 6)
    train = few_shot(task.target_train, n, seed=0)
    print(f"set-up: n = {n} labelled image(s) per class ({len(train)} in all) of the paired target task, 1 seed "
          f"(images 0, head 1, batch order 0), {epochs} epochs, SGD lr 0.05 momentum 0.9; test on "
          f"{len(task.target_test)} target images")
    for name, options in (("gradual", {"every": every}), ("discriminative", {"factor": 2.6}),
                          ("ft", {"backbone_lr_scale": 0.1})):
        strategy = get_strategy(name, **options)
        with seeded(1):
            model = strategy.apply(task.pretrained_model())
        print(strategy.describe(model, lr=0.05))
        loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
        history = strategy.fit(model, loader, epochs=epochs, lr=0.05, momentum=0.9, weight_decay=5e-4)
        blocks = [record["trainable_blocks"] for record in history.epochs]
        accuracy = evaluate(model, DataLoader(task.target_test, batch_size=100))["accuracy"]
        print(f"{name}: trainable blocks per epoch: {stretches(blocks)}; test accuracy {accuracy:.1%}\n")


if __name__ == "__main__":
    main()
