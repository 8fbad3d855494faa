"""Demo 11: your own photos: an ImageFolder as the target task, with the imported pretrained weights.

Run:  python demos/11_own_photos.py [--data DIR] [--smoke] [--out DIR]
DIR holds one sub-folder per class (``DIR/mugs/*.jpg``, ``DIR/shoes/*.png``), or ``DIR/train`` and
``DIR/test`` each laid out so. Without ``--data`` the demo first writes such a folder of PNG files
from the bundled Fashion-MNIST test images, so it runs anywhere.
What to notice: photos are read with Pillow, turned grey and 28x28 (the pretrained network's
input), normalised with the *source* statistics stored beside the weights; then it is the same
feature extraction as on Fashion-MNIST.
"""
import argparse
from pathlib import Path

import numpy
from PIL import Image

from minitl import no_grad, tensor, viz
from minitl.compare import load_task
from minitl.data import DataLoader
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded


def write_example_folder(folder, per_class):
    """PNG files of three Fashion-MNIST classes, as if they were someone's photos."""
    task = load_task("paired")
    data = task.target_test
    for label, name in enumerate(data.classes[:3]):
        where = folder / name.replace(" ", "_").replace("/", "_")
        where.mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(numpy.flatnonzero(data.labels == label)[:per_class]):
            Image.fromarray(data.images[index, 0]).resize((64, 64)).save(where / f"{i:03d}.png")
    return folder


def across_classes(labels, count):
    """Indices of up to ``count`` images taken in turn from each class (the first of each, then the second...),
    so the grid shows every class, not the first 16 images of a folder sorted by class."""
    per_class = [list(numpy.flatnonzero(labels == label)) for label in numpy.unique(labels)]
    picked = [group[i] for i in range(max(map(len, per_class), default=0)) for group in per_class if i < len(group)]
    return numpy.array(picked[:count], dtype=numpy.int64)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", help="your ImageFolder (default: write an example one)")
    parser.add_argument("--smoke", action="store_true", help="few images and epochs (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    data = args.data or write_example_folder(out / "11_my_photos", 12 if args.smoke else 60)
    task = load_task("paired", data=data)
    epochs = 2 if args.smoke else 30
    counts = numpy.bincount(task.target_train.labels, minlength=len(task.classes))
    print(f"set-up: n = {counts.min()}{'' if counts.min() == counts.max() else f'-{counts.max()}'} training images "
          f"per class ({len(task.target_train)} in all, {len(task.classes)} classes), test on "
          f"{len(task.target_test)} held-out images, 1 seed (head 1, batch order 0), {epochs} epochs of feature "
          "extraction, SGD lr 0.05 momentum 0.9")
    print(f"{task.description}: classes {task.classes}")
    strategy = get_strategy("fe")
    with seeded(1):
        model = strategy.apply(task.pretrained_model())   # a new head for your classes
    print(model.load_report)
    loader = DataLoader(task.target_train, batch_size=16, shuffle=True, seed=0)
    strategy.fit(model, loader, epochs=epochs, lr=0.05, momentum=0.9, weight_decay=5e-4)
    print(f"test accuracy on your held-out images: "
          f"{evaluate(model, DataLoader(task.target_test, batch_size=100))['accuracy']:.1%}")
    images, labels = task.target_test.get_batch(across_classes(task.target_test.labels, 16))
    model.eval()
    with no_grad():
        predictions = model(tensor(images)).numpy().argmax(1)
    viz.image_grid(images, out / "11_predictions.png", labels=labels, predictions=predictions, class_names=task.classes)
    print(f"predictions: {out / '11_predictions.png'}")


if __name__ == "__main__":
    main()
