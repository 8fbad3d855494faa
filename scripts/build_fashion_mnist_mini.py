"""Build minitl's bundled Fashion-MNIST sample from the full data set.

    python scripts/build_fashion_mnist_mini.py [--root FOLDER] [--train-per-class 1000]
                                               [--test-per-class 300] [--seed 20170828] [--check]

Draws ``--train-per-class`` training images and ``--test-per-class`` test images of every class,
without replacement, with a fixed seed (``minitl.data.splits.few_shot_indices``, the drawing
``few_shot`` uses; train first, then test, from one generator), from the official files (found like ``FashionMNIST``
finds them: root, $MINITL_DATA, ~/.cache/minitl/fashion-mnist, /usr/share/datasets/fashion-mnist).
The chosen images keep their official order. Writes ``minitl/data/bundled/fashion_mnist_mini.npz``:

    train_images uint8 (N, 28, 28)   train_labels uint8 (N,)   train_indices int32 (N,)
    test_images  uint8 (M, 28, 28)   test_labels  uint8 (M,)   test_indices  int32 (M,)

``*_indices`` are positions in the official files, so every bundled image can be traced back.
The archive is an ordinary ``.npz`` (``numpy.load`` reads it) whose members are LZMA-compressed
instead of deflated: about 15% smaller, which is what keeps 13,000 images under 5 MB. Entries get a
fixed timestamp, so the same inputs give the same bytes: ``--check`` builds into a temporary file
and only says whether it matches the shipped one, byte for byte.

The archive is written to a temporary file beside the output, its size checked, and only then
moved onto the output (``os.replace``): a build over the limit leaves the shipped file as it was.
"""
import argparse
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minitl.data.fashion_mnist import FILES, existing_file, find_fashion_mnist  # noqa: E402
from minitl.data.idx import read_idx  # noqa: E402
from minitl.data.splits import few_shot_indices  # noqa: E402

OUTPUT = REPO / "minitl" / "data" / "bundled" / "fashion_mnist_mini.npz"
SIZE_LIMIT = 5_000_000  # bytes; the "at most 5 MB compressed"


def write_npz(path: Path, arrays: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            numpy.lib.format.write_array(buffer, numpy.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_LZMA
            archive.writestr(info, buffer.getvalue())


def publish_archive(arrays: dict, output: Path, size_limit: int, check: bool) -> None:
    """Write ``arrays`` to a temporary file beside ``output``, check its size, then move it onto
    ``output`` (or, with ``check``, only say whether it matches ``output`` byte for byte)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.part-", dir=output.parent)
    os.close(handle)
    try:
        write_npz(Path(temporary), arrays)
        size = os.path.getsize(temporary)
        counts = f"train {len(arrays['train_labels'])}, test {len(arrays['test_labels'])} images"
        if size > size_limit:
            raise SystemExit(f"{size:,} bytes ({counts}) is over the {size_limit:,} byte limit; "
                             f"use fewer images. {output} was left as it was.")
        if check:
            same = output.is_file() and Path(temporary).read_bytes() == output.read_bytes()
            print(f"{output}: {'identical to' if same else 'DIFFERS from'} a fresh build "
                  f"({size:,} bytes; {counts})")
            if not same:
                raise SystemExit(1)
            return
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the shipped file is world-readable
        os.replace(temporary, output)
        print(f"wrote {output}: {size:,} bytes; {counts}")
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--root", default=None)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20170828)  # Fashion-MNIST's release date
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary file and compare it with --output; write nothing")
    args = parser.parse_args()

    folder = find_fashion_mnist(args.root)
    if folder is None:
        raise SystemExit("full Fashion-MNIST not found; install dataset-fashion-mnist or pass --root")
    rng = numpy.random.default_rng(args.seed)
    arrays = {}
    for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
        images_stem, labels_stem = FILES[split]
        start = time.perf_counter()
        images = read_idx(existing_file(folder, images_stem), expect_ndim=3)
        labels = read_idx(existing_file(folder, labels_stem), expect_ndim=1)
        print(f"read {split} from {folder}: {images.shape} in {time.perf_counter() - start:.2f} s")
        chosen = few_shot_indices(labels, per_class, rng)
        arrays[f"{split}_images"] = images[chosen]
        arrays[f"{split}_labels"] = labels[chosen]
        arrays[f"{split}_indices"] = chosen.astype(numpy.int32)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    publish_archive(arrays, args.output, SIZE_LIMIT, args.check)

if __name__ == "__main__":
    main()
