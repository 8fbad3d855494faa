"""Demo 6: a learning rate too high destroys what pretraining learned.

Run:  python demos/06_lr_too_high.py [--smoke] [--out DIR]
What to notice: fine-tuning everything at one learning rate, a sweep from small to large: target
accuracy first rises, then falls; the source accuracy with the old head put back (after BatchNorm
re-estimation, so only the weights count) falls steadily: the large steps overwrite the features.
"""
import argparse
from pathlib import Path

from minitl import viz
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded, source_accuracy


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="two rates, a few steps (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = load_task("paired")
    train = few_shot(task.target_train, 20, seed=0)
    source_head = task.source_model().head
    rates = [0.05, 0.5] if args.smoke else [0.005, 0.02, 0.05, 0.2, 0.5]
    target, source = [], []
    for lr in rates:
        strategy = get_strategy("ft", backbone_lr_scale=1.0)    # one learning rate for every layer
        with seeded(1):
            model = strategy.apply(task.pretrained_model())
        loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
        strategy.fit(model, loader, epochs=1 if args.smoke else 40, lr=lr, momentum=0.9, weight_decay=5e-4)
        target.append(evaluate(model, DataLoader(task.target_test, batch_size=100))["accuracy"])
        kept = source_accuracy(model, source_head, DataLoader(task.source_test, batch_size=100),
                               calibration_loader=DataLoader(task.source_calibration, batch_size=250))
        source.append(kept["recalibrated_accuracy"])
        print(f"lr {lr:<6}: target accuracy {target[-1]:.1%}, source accuracy (old head, BN re-estimated) "
              f"{source[-1]:.1%}, raw {kept['accuracy']:.1%}")
    viz.line_chart({"target accuracy": target, "source accuracy (forgetting)": source}, out / "06_lr_sweep.png",
                   x=list(range(len(rates))), x_title="learning rate: " + ", ".join(map(str, rates)),
                   y_title="accuracy", title="one learning rate for all layers")
    print(f"plot: {out / '06_lr_sweep.png'}")


if __name__ == "__main__":
    main()
