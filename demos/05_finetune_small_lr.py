"""Demo 5: fine-tuning with a smaller backbone learning rate, and what one step does to each layer.

Run:  python demos/05_finetune_small_lr.py [--smoke]
What to notice: with ``FineTune(backbone_lr_scale=0.1)`` every layer trains, but the step report
shows the backbone's updates ten times smaller relative to its weights than the head's; after
training, the drift ||W - W0|| / ||W0|| from the pretrained weights stays small in the backbone.
"""
import argparse

from minitl import inspect
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate, fit
from minitl.transfer import get_strategy, seeded


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="a few steps (CI)")
    args = parser.parse_args(argv)
    task = load_task("paired")
    train = few_shot(task.target_train, 20, seed=0)
    strategy = get_strategy("ft", backbone_lr_scale=0.1)
    with seeded(1):
        model = strategy.apply(task.pretrained_model())
    pretrained = {k: v.copy() for k, v in model.state_dict().items()}
    print(strategy.describe(model, lr=0.05))
    optimizer = strategy.optimizer(model, 0.05, momentum=0.9, weight_decay=5e-4)
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    fit(model, optimizer, loader, steps=1, epochs=1, verbose=False)
    print("\nafter one step:")
    print(inspect.step_report(model, optimizer, reference=pretrained))
    fit(model, optimizer, loader, epochs=2 if args.smoke else 40, steps=5 if args.smoke else None, verbose=False)
    print("\nafter training (drift from the pretrained weights in the last column):")
    print(inspect.step_report(model, optimizer, reference=pretrained))
    print(f"test accuracy: {evaluate(model, DataLoader(task.target_test, batch_size=100))['accuracy']:.1%}")


if __name__ == "__main__":
    main()
