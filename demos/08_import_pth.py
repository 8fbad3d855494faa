"""Demo 8: importing the shipped PyTorch ``.pth`` file, with PyTorch not even importable.

Run:  python demos/08_import_pth.py [--smoke] [--out DIR]
What to notice: ``weights/smallcnn-fashion-paired.pth`` was written by ``torch.save`` (by
scripts/export_pretrained_pth.py); minitl reads it through an allow-list unpickler, so no code in
the file runs and torch is not needed. The load report lists every key; the predictions on source
test images (the classes it was trained on) show it is the same network.
"""
import argparse
import sys
from pathlib import Path

sys.modules["torch"] = None  # any "import torch" from here on fails: the load below cannot use it

from minitl import viz  # noqa: E402
from minitl import weights as registry  # noqa: E402
from minitl.compare import load_task  # noqa: E402
from minitl.data import DataLoader  # noqa: E402
from minitl.models import SmallCNN  # noqa: E402
from minitl.train import evaluate  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="the same (it is quick)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = registry.folder() / "smallcnn-fashion-paired.pth"
    if not path.is_file():
        print(f"{path} is not there (it ships in weights/; scripts/export_pretrained_pth.py writes it with torch)")
        return 0
    task = load_task("paired")
    print(f"set-up: no training, no seed: the shipped weights evaluated on the {len(task.source_test)} source test "
          f"images of the paired task ({', '.join(task.source_test.classes)})")
    model = SmallCNN(num_classes=5)
    report = model.load(path)                      # a PyTorch zip pickle, read without torch
    print(report)
    scores = evaluate(model, DataLoader(task.source_test, batch_size=100))
    print(f"source test accuracy of the imported network: {scores['accuracy']:.1%} "
          f"(the manifest says {registry.entry('fashion-paired')['source_test_accuracy']:.1%})")
    images, labels = task.source_test.get_batch(list(range(0, 1500, 1500 // 24))[:24])
    from minitl import no_grad, tensor  # noqa: PLC0415

    model.eval()
    with no_grad():
        predictions = model(tensor(images)).numpy().argmax(1)
    viz.image_grid(images, out / "08_predictions.png", labels=labels, predictions=predictions,
                   class_names=task.source_test.classes)
    print(f"predictions (green right, red wrong): {out / '08_predictions.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
