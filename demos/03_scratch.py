"""Demo 3: training SmallCNN from scratch on the target task, with its loss curve.

Run:  python demos/03_scratch.py [--smoke] [--out DIR]
What to notice: with 100 images per class and random initial weights the network must learn every
filter from those 500 images; the loss falls, and the test accuracy is the baseline that transfer
learning has to beat (``minitl compare`` measures it over seeds).
"""
import argparse
from pathlib import Path

import minitl
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.models import SmallCNN
from minitl.optim import SGD
from minitl.optim.lr_scheduler import CosineAnnealingLR
from minitl.train import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="a few steps only (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = load_task("paired")                              # Dress, Coat, Shirt, Bag, Ankle boot
    train = few_shot(task.target_train, 100, seed=0)        # 100 labelled images per class
    minitl.manual_seed(0)
    model = SmallCNN(num_classes=5)                         # random weights: from scratch
    epochs = 1 if args.smoke else 8
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    print(f"set-up: n = 100 labelled images per class ({len(train)} in all) of the paired target task, 1 seed "
          f"(images 0, init 0, batch order 0), {epochs} epoch(s){' of 5 steps (smoke)' if args.smoke else ''}, "
          f"SGD lr 0.05 cosine momentum 0.9; test on {len(task.target_test)} target images. Demos 04 and 05 use "
          "n = 20: compare them with `minitl compare`, which runs every strategy at the same n and seeds")
    optimizer = SGD(model, lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    history = fit(model, optimizer, loader, epochs=epochs, steps=5 if args.smoke else None, scheduler=scheduler,
                  scheduler_interval="step", verbose=True)
    scores = evaluate(model, DataLoader(task.target_test, batch_size=100))
    print(f"test accuracy from scratch on {len(task.target_test)} test images: {scores['accuracy']:.1%}")
    history.plot(out / "03_loss.png")
    print(f"loss curve: {out / '03_loss.png'}")


if __name__ == "__main__":
    main()
