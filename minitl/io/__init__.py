"""Weight files in and out of minitl, and loading them into models with a report.

Three layers:

* readers, each turning one file format into an ordered ``{name: numpy array}`` (a
  :class:`WeightDict`) without importing the framework that wrote it: ``load`` (minitl's npz),
  ``load_torch``, ``load_safetensors``, ``load_keras`` (h5py), ``load_onnx`` (onnx);
* writers: ``save`` (npz + manifest), ``save_safetensors``, ``save_torch`` (for PyTorch users);
* ``load_into(model, source, ...)`` with layout converters and a :class:`LoadReport`.

Nothing here executes code from a weight file: a file that tries raises :class:`UnsafeWeightsError`.
"""
from .errors import OptionalDependencyError, StateDictMismatchError, UnsafeWeightsError, WeightFormatError
from .formats import read_weights
from .keras_h5 import load_keras
from .layouts import from_keras, from_onnx
from .mapping import load_into, strip_prefixes
from .native import load, save
from .onnx import load_onnx
from .report import LoadReport
from .safetensors import load_safetensors, save_safetensors
from .state import WeightDict, as_state_dict
from .torch_pickle import load_torch
from .torch_writer import save_torch

__all__ = [
    "LoadReport", "OptionalDependencyError", "StateDictMismatchError", "UnsafeWeightsError", "WeightDict",
    "WeightFormatError", "as_state_dict", "from_keras", "from_onnx", "load", "load_into", "load_keras",
    "load_onnx", "load_safetensors", "load_torch", "read_weights", "save", "save_safetensors", "save_torch",
    "strip_prefixes",
]
