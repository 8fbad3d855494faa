"""Helpers for the export tests: import a folder written by ``minitl.export.to_torch`` as the user would.

``finetune.py`` imports ``model`` from its own folder, so both names are dropped from ``sys.modules``
first: every exported folder gets its own ``model.py``, not the one a previous test imported.
"""
import importlib
import sys

import numpy


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
