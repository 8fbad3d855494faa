"""Demo 7: gradual unfreezing and discriminative learning rates (ULMFiT, Howard & Ruder 2018).

Run:  python demos/07_gradual_discriminative.py [--smoke]
What to notice: ``gradual`` starts as feature extraction and unfreezes one more block each epoch
(watch the "trainable blocks" of each epoch); ``discriminative`` trains every block, each 2.6x
slower than the one above it (the describe table's lr column). Both are frozen / lr_scale settings
the optimizer reads at every step, nothing more.
"""
import argparse

from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="few epochs (CI)")
    args = parser.parse_args(argv)
    task = load_task("paired")
    train = few_shot(task.target_train, 20, seed=0)
    epochs = 4 if args.smoke else 24
    for name, options in (("gradual", {"every": 1 if args.smoke else 6}), ("discriminative", {"factor": 2.6}),
                          ("ft", {"backbone_lr_scale": 0.1})):
        strategy = get_strategy(name, **options)
        with seeded(1):
            model = strategy.apply(task.pretrained_model())
        print(strategy.describe(model, lr=0.05))
        loader = DataLoader(train if not args.smoke else few_shot(task.target_train, 1, seed=0), batch_size=32,
                            shuffle=True, seed=0)
        history = strategy.fit(model, loader, epochs=epochs, lr=0.05, momentum=0.9, weight_decay=5e-4)
        blocks = [record["trainable_blocks"] for record in history.epochs]
        accuracy = evaluate(model, DataLoader(task.target_test, batch_size=100))["accuracy"]
        print(f"{name}: trainable blocks per epoch {blocks if len(blocks) <= 8 else blocks[::max(1, len(blocks) // 8)]}"
              f"; test accuracy {accuracy:.1%}\n")


if __name__ == "__main__":
    main()
