"""Demo 5: fine-tuning with a smaller backbone learning rate, and what one step does to each layer.

Run:  python demos/05_finetune_small_lr.py [--smoke]
What to notice: with ``FineTune(backbone_lr_scale=0.1)`` every layer trains, but the step report
shows the backbone's updates much smaller relative to its weights than the head's: the lr_scale
gives a factor 10, the gradients the rest (printed, computed from the report); after training,
the drift ||W - W0|| / ||W0|| from the pretrained weights is far smaller in the backbone than in
the head, and the demo says whether it is still small (under 5%): after 40 epochs it is not.
"""
import argparse
import statistics

from minitl import inspect
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate, fit
from minitl.transfer import get_strategy, seeded

SMALL_DRIFT = 0.05  # "small": the weights moved less than 5% of their norm


def _conv_weights(rows):
    return [r for r in rows if r["name"].startswith("backbone") and r["name"].endswith("0.weight")]


def update_conclusion(rows):
    """What the first step's report says, from its rows (``name``, ``lr``, ``grad_norm``, ``weight_norm``,
    ``update_ratio``): how much smaller the backbone's relative updates are than the head's, and why."""
    head = next(r for r in rows if r["name"] == "head.weight")
    backbone = _conv_weights(rows)
    backbone_ratio = statistics.median(r["update_ratio"] for r in backbone)
    times = head["update_ratio"] / backbone_ratio
    lr_part = head["lr"] / statistics.median(r["lr"] for r in backbone)
    gradient_part = times / lr_part
    if times <= 1:
        return (f"the backbone's convolutions moved {backbone_ratio:.1e} of their norm, the head "
                f"{head['update_ratio']:.1e}: the backbone's updates are NOT smaller than the head's here")
    if gradient_part > 1.5:
        backbone_grad = statistics.median(r["grad_norm"] / r["weight_norm"] for r in backbone)
        why = (f"the learning rates account for {lr_part:.0f}x (lr_scale), the gradients for the other "
               f"{gradient_part:.0f}x (|grad| / |W|: head {head['grad_norm'] / head['weight_norm']:.1e}, backbone "
               f"convolutions {backbone_grad:.1e}: a new head starts with small weights and large gradients)")
    else:
        why = f"the learning rates account for nearly all of it ({lr_part:.0f}x, the lr_scale)"
    return (f"after one step the head's weights moved {head['update_ratio']:.1e} of their norm, the backbone's "
            f"convolutions {backbone_ratio:.1e} (median): {times:.0f}x smaller; {why}")


def drift_conclusion(rows):
    """After training: the largest drift of a backbone convolution and of the head, and whether it is small."""
    backbone = max(r["drift"] for r in _conv_weights(rows))
    head = next(r for r in rows if r["name"] == "head.weight")["drift"]
    verdict = "small" if backbone < SMALL_DRIFT else "NOT small"
    return (f"drift from the pretrained weights: at most {backbone:.1%} in a backbone convolution ({verdict}: the "
            f"line is {SMALL_DRIFT:.0%}), {head:.1%} in the head ({head / backbone:.0f}x more)")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="a few steps (CI)")
    args = parser.parse_args(argv)
    task = load_task("paired")
    n, epochs = 20, 2 if args.smoke else 40
    train = few_shot(task.target_train, n, seed=0)
    print(f"set-up: n = {n} labelled images per class ({len(train)} in all) of the paired target task, 1 seed "
          f"(images 0, head 1, batch order 0), {epochs} epochs{' of 5 steps (smoke)' if args.smoke else ''}, "
          f"SGD lr 0.05 (backbone x 0.1) momentum 0.9; test on {len(task.target_test)} target images")
    strategy = get_strategy("ft", backbone_lr_scale=0.1)
    with seeded(1):
        model = strategy.apply(task.pretrained_model())
    pretrained = {k: v.copy() for k, v in model.state_dict().items()}
    print(strategy.describe(model, lr=0.05))
    optimizer = strategy.optimizer(model, 0.05, momentum=0.9, weight_decay=5e-4)
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    fit(model, optimizer, loader, steps=1, epochs=1, verbose=False)
    print("\nafter one step:")
    report = inspect.step_report(model, optimizer, reference=pretrained)
    print(report)
    print(update_conclusion(report.rows))
    fit(model, optimizer, loader, epochs=epochs, steps=5 if args.smoke else None, verbose=False)
    print("\nafter training (drift from the pretrained weights in the last column):")
    report = inspect.step_report(model, optimizer, reference=pretrained)
    print(report)
    print(drift_conclusion(report.rows))
    print(f"test accuracy: {evaluate(model, DataLoader(task.target_test, batch_size=100))['accuracy']:.1%}")


if __name__ == "__main__":
    main()
