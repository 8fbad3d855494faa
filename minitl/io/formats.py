"""Pick the reader for a weight file from its name: one table, one function.

``read_weights(path)`` is what ``load_into(model, "file.ext")`` calls. The table is the list of
formats minitl understands; each reader lives in its own module.
"""
import os

from .errors import WeightFormatError
from .keras_h5 import load_keras
from .native import load as load_native
from .onnx import load_onnx
from .safetensors import load_safetensors
from .torch_pickle import load_torch

READERS = (
    ((".npz",), load_native),
    ((".pt", ".pth", ".bin", ".ckpt"), load_torch),
    ((".safetensors",), load_safetensors),
    ((".weights.h5", ".h5", ".hdf5", ".keras"), load_keras),
    ((".onnx",), load_onnx),
)


def read_weights(path):
    """Read any supported weight file into a WeightDict, choosing the reader by extension."""
    name = os.fspath(path).lower()
    for extensions, reader in READERS:
        if name.endswith(extensions):
            return reader(path)
    known = ", ".join(ext for extensions, _ in READERS for ext in extensions)
    raise WeightFormatError(path, f"unknown weight file extension; minitl reads {known}. Call a reader "
                                  "(minitl.io.load_torch, ...) directly if the name is unusual")
