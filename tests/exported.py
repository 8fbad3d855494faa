"""Helpers for the export tests: import a folder written by ``minitl.export.to_torch`` as the user would.

``finetune.py`` imports ``model`` from its own folder, so both names are dropped from ``sys.modules``
first: every exported folder gets its own ``model.py``, not the one a previous test imported.
"""
import gzip
import importlib
import struct
import sys

import numpy

from minitl.data.fashion_mnist import load_bundled


def import_finetune(folder):
    """The exported ``finetune`` module (which has imported that folder's ``model``)."""
    for name in ("finetune", "model", "train_ddp"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("finetune")
    finally:
        sys.path.remove(str(folder))


def torch_state(torch_model):
    """``{name: float64 numpy array}`` of a torch model's parameters and buffers."""
    return {name: value.detach().numpy().astype(numpy.float64) for name, value in torch_model.state_dict().items()}


def minitl_state(model):
    return {name: numpy.asarray(value, dtype=numpy.float64) for name, value in model.state_dict().items()}


def write_idx(path, array):
    """An IDX file as Fashion-MNIST ships it: magic (0, 0, 8 = uint8, ndim), big-endian sizes, the bytes."""
    with gzip.open(path, "wb") as file:
        file.write(bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape))
        file.write(numpy.ascontiguousarray(array, dtype=numpy.uint8).tobytes())


def small_fashion_mnist(folder):
    """A Fashion-MNIST folder of 80 training and 40 test images from the bundled sample, gzipped IDX."""
    for split, stem, count in (("train", "train", 80), ("test", "t10k", 40)):
        images, labels = load_bundled(split)
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", images[:count])
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", labels[:count])
