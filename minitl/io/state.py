"""What a weight file becomes in memory, and how a model becomes one.

Every reader returns a :class:`WeightDict`: an ordered ``{name: numpy array}`` (file order, so
printing is stable) that also remembers which ``format`` it came from, the ``path`` and a ``meta``
dict of whatever else the file said (manifest, Keras layer list, safetensors ``__metadata__``...).
The mapping layer (mapping.py) reads ``format`` to choose layout converters.

Every writer starts from :func:`as_state_dict`, which accepts a model (anything with
``state_dict()``) or a mapping of arrays / minitl Tensors, and gives host NumPy arrays: CuPy arrays
are copied to the host with ``backend.asnumpy``; the model itself is not moved.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy

from ..core import backend


class WeightDict(OrderedDict):
    """An ordered ``{name: numpy.ndarray}`` plus ``format``, ``path`` and ``meta`` about its file."""

    def __init__(self, items=(), *, format=None, path=None, meta=None):
        super().__init__(items)
        self.format = format
        self.path = path
        self.meta = dict(meta or {})

    def __repr__(self):
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in list(self.items())[:4])
        more = f", ... ({len(self)} arrays)" if len(self) > 4 else ""
        return f"WeightDict(format={self.format!r}, {{{shapes}{more}}})"


def host_array(value):
    """A NumPy array from a NumPy/CuPy array, a minitl Tensor (``.data``) or a Python number."""
    data = getattr(value, "data", value)
    # numpy arrays also have .data (a memoryview), CuPy arrays too (a device pointer): keep the array
    if isinstance(data, memoryview) or backend.device_of(value) == "cuda":
        data = value
    return backend.asnumpy(data)


def as_state_dict(obj) -> "OrderedDict[str, numpy.ndarray]":
    """``obj`` (a model with ``state_dict()`` or a mapping of arrays) as an ordered dict of host arrays.

    Raises ``TypeError`` naming the offending key when a value is not array-like.
    """
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected a model (with state_dict()) or a mapping name -> array, got {type(obj).__name__}")
    result = OrderedDict()
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"state_dict keys must be strings, got {name!r} ({type(name).__name__})")
        array = host_array(value)
        if array.dtype == object:
            raise TypeError(f"state_dict entry {name!r} is not a numeric array (got {type(value).__name__})")
        result[name] = array
    return result


def strip_key_prefix(name: str, prefixes) -> str:
    """Remove wrapper prefixes (``module.`` from DataParallel, ``_orig_mod.`` from torch.compile),
    repeatedly, from the front of one key."""
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if name.startswith(prefix):
                name, changed = name[len(prefix):], True
    return name
