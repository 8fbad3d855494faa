"""Read Keras weight files (HDF5) into NumPy, through ``h5py`` (an optional extra).

Two layouts exist:

* Keras 3 ``save_weights("x.weights.h5")`` (also ``model.weights.h5`` inside a ``.keras`` zip):
  each layer is a group named after its *class* (``dense``, ``dense_1``, ``conv2d``,
  ``batch_normalization``), its variables are datasets ``vars/0``, ``vars/1``... in the order
  trainable then non-trainable. Keys here: ``layers/dense/vars/0``.
* Keras 2 / tf.keras ``.h5``: root attribute ``layer_names`` in model order; each layer group has a
  ``weight_names`` attribute (``dense/kernel:0``...). Keys here: ``dense/dense/kernel:0``. A full
  ``model.save("m.h5")`` puts the same under ``model_weights/`` and the architecture in the root
  attribute ``model_config``.

The arrays stay in Keras layout (Dense kernel (in, out), Conv2D HWIO); ``meta["layers"]`` lists each
layer's ``path``, ``class``, variable ``keys`` and ``config`` (when the file has one) so that
layouts.py can convert them. HDF5 can hold links to other files and datasets whose declared shape
dwarfs their stored bytes; both are refused, as Keras itself does. Hard links can also make the
group "tree" a graph (a loop, or a chain of diamonds with 2**depth paths), so every object is
visited at most once, and every dataset -- one never written included, which HDF5 reads as its
fill value from zero stored bytes -- is paid from ONE byte budget for the whole file (limits.py).
libhdf5 can loop forever on a corrupted file, so the reading runs in a child process with a time
limit (worker.py).
"""
import io
import json
import math
import os
import re
import zipfile
import zlib

import numpy

from .dtypes import bfloat16_bits_to_float32
from .errors import UnsafeWeightsError, WeightFormatError, require_optional
from .limits import MAX_METADATA_BYTES, ByteBudget
from .state import WeightDict
from .worker import run_with_time_limit

H5PY_HINT = "pip install 'minitl[keras]'   (or just: pip install h5py)"
MAX_DATASET_BYTES = 8 << 30
# The time limit: 10 s (a fork and h5py's open, with room for a busy machine) plus the file read at a
# conservative 10 MB/s, so a 17 kB file that makes libhdf5 loop is stopped in 10 s, a 1 GB file gets 110 s.
SECONDS_BASE, BYTES_PER_SECOND = 10.0, 10 << 20
KNOWN_CLASSES = {
    "dense": "Dense", "conv2d": "Conv2D", "conv1d": "Conv1D", "depthwise_conv2d": "DepthwiseConv2D",
    "conv2d_transpose": "Conv2DTranspose", "batch_normalization": "BatchNormalization",
    "layer_normalization": "LayerNormalization", "embedding": "Embedding",
}


def class_from_path(path: str) -> str:
    """``layers/batch_normalization_2`` -> ``BatchNormalization`` (Keras 3 names groups by class)."""
    snake = re.sub(r"_\d+$", "", path.rstrip("/").split("/")[-1])
    return KNOWN_CLASSES.get(snake, "".join(part.capitalize() for part in snake.split("_")))


def _checked_dataset(path, h5py, group, key):
    """``group[key]`` as a dataset, refusing links, external storage, virtual datasets and shape bombs."""
    link = group.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise UnsafeWeightsError(path, f"{group.name.rstrip('/')}/{key} is a {type(link).__name__}, a link that "
                                       "can point into other files; weight files must hold plain datasets")
    node = group[key]
    if not isinstance(node, h5py.Dataset):
        return node
    if node.is_virtual or node.external:
        raise UnsafeWeightsError(path, f"dataset {node.name} reads its data from other files (external/virtual); "
                                       "refused")
    nbytes = math.prod(node.shape or ()) * node.dtype.itemsize
    stored = node.id.get_storage_size()
    if nbytes > MAX_DATASET_BYTES or (node.compression is None and node.chunks is None and stored < nbytes):
        raise WeightFormatError(path, f"dataset {node.name} declares shape {node.shape} ({nbytes} bytes) but stores "
                                      f"{stored} bytes: corrupt or a 'shape bomb'")
    return node


class _Visits:
    """One file's walk: each HDF5 object is entered at most once, and the bytes read are capped."""

    def __init__(self, path, budget):
        self.path, self.seen, self.budget = path, set(), budget

    def enter(self, node):
        # h5py ObjectIDs compare equal when they name the same object (file number + object address),
        # whichever of its hard links we came through.
        if node.id in self.seen:
            raise WeightFormatError(self.path, f"{node.name} is reached twice through hard links (a loop or a "
                                               "shared group or dataset); Keras never writes that: refused")
        self.seen.add(node.id)


def _read_dataset(path, dataset, visits) -> numpy.ndarray:
    visits.enter(dataset)
    # stored: the bytes on disk; a chunked dataset never written has none and reads as its fill value
    visits.budget.spend(math.prod(dataset.shape or ()) * dataset.dtype.itemsize, f"dataset {dataset.name}",
                        stored=dataset.id.get_storage_size())
    array = dataset[()]
    if dataset.attrs.get("dtype") in ("bfloat16", b"bfloat16") and array.dtype.itemsize == 2:
        return bfloat16_bits_to_float32(numpy.asarray(array).view("<u2"))
    array = numpy.asarray(array)
    if array.dtype.kind not in "biuf":
        raise WeightFormatError(path, f"dataset {dataset.name} has dtype {array.dtype}, not a numeric weight")
    return numpy.array(array, dtype=array.dtype.newbyteorder("="), order="C")


def _group(path, h5py, parent, key):
    node = _checked_dataset(path, h5py, parent, key)
    return node if isinstance(node, h5py.Group) else None


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _walk_keras3(path, h5py, group, prefix, result, layers, visits):
    """Depth-first: collect every ``.../vars/<i>`` group as one layer, skipping the optimizer's state."""
    for key in sorted(group.keys(), key=_natural_key):
        child = _group(path, h5py, group, key)
        if child is None or (prefix == "" and key == "optimizer"):
            continue
        visits.enter(child)
        child_path = f"{prefix}{key}"
        if key == "vars":
            keys = []
            for index in sorted(child.keys(), key=_natural_key):
                dataset = _checked_dataset(path, h5py, child, index)
                name = f"{child_path}/{index}"
                result[name] = _read_dataset(path, dataset, visits)
                keys.append(name)
            owner = prefix.rstrip("/")
            if keys:
                name_attr = group.attrs.get("name")
                layers.append({"path": owner, "class": class_from_path(owner) if owner else "Model", "keys": keys,
                               "name": name_attr.decode() if isinstance(name_attr, bytes) else name_attr,
                               "config": None})
        else:
            _walk_keras3(path, h5py, child, child_path + "/", result, layers, visits)


def _string_list(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _read_legacy(path, h5py, root, model_config, result, layers, visits):
    """Keras 2: follow ``layer_names`` (model order), then each layer's ``weight_names``.

    Each layer group and dataset is entered once: ``layer_names`` naming a layer twice is refused.
    """
    names = []
    if "layer_names" in root.attrs:
        names = _string_list(root.attrs["layer_names"])
    else:  # large models split the attribute into layer_names0, layer_names1, ...
        chunk = 0
        while f"layer_names{chunk}" in root.attrs:
            names += _string_list(root.attrs[f"layer_names{chunk}"])
            chunk += 1
    configs = {}
    if model_config:
        for layer in (model_config.get("config") or {}).get("layers", []):
            configs[layer.get("config", {}).get("name") or layer.get("name")] = layer
    for layer_name in names:
        group = _group(path, h5py, root, layer_name)
        if group is None:
            raise WeightFormatError(path, f"layer_names lists {layer_name!r} but the file has no such group")
        visits.enter(group)
        keys = []
        for weight_name in _string_list(group.attrs.get("weight_names", [])):
            node = group
            for part in weight_name.split("/"):
                node = _checked_dataset(path, h5py, node, part)
            key = f"{layer_name}/{weight_name}"
            result[key] = _read_dataset(path, node, visits)
            keys.append(key)
        known = configs.get(layer_name)
        if keys:
            layers.append({"path": layer_name, "name": layer_name, "keys": keys,
                           "class": known["class_name"] if known else class_from_path(layer_name),
                           "config": known.get("config") if known else None})


def _attach_keras3_configs(layers, config):
    """``.keras`` zips carry config.json: give each layer its class and config (epsilon, ...)."""
    counts, by_path = {}, {}
    for layer in (config.get("config") or {}).get("layers", []):
        snake = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", layer.get("class_name", "")).lower().replace("2_d", "2d")
        index = counts.get(snake, 0)
        counts[snake] = index + 1
        by_path[f"layers/{snake}" + (f"_{index}" if index else "")] = layer
    for layer in layers:
        known = by_path.get(layer["path"])
        if known:
            layer["class"], layer["config"] = known.get("class_name", layer["class"]), known.get("config")


def load_keras(path) -> WeightDict:
    """Read ``.weights.h5`` (Keras 3), ``.keras`` (Keras 3 zip) or legacy ``.h5`` into a :class:`WeightDict`.

    ``meta['keras_format']`` is ``'keras3'`` or ``'legacy'``; ``meta['layers']`` describes each layer.
    Needs ``h5py``; arrays keep Keras layout (converted later by ``load_into``). The file is read in
    a child process that is stopped after ``SECONDS_BASE`` s plus 1 s per ``BYTES_PER_SECOND`` of file.
    """
    require_optional("h5py", H5PY_HINT)
    path = os.fspath(path)
    seconds = SECONDS_BASE + os.path.getsize(path) / BYTES_PER_SECOND
    return run_with_time_limit(path, seconds, _load_keras_here, path)


def _load_keras_here(path) -> WeightDict:
    h5py = require_optional("h5py", H5PY_HINT)
    with open(path, "rb") as file:
        head = file.read(8)
    config = None
    source = path
    budget = ByteBudget(path)
    if head.startswith(b"PK"):
        source, config = _open_keras_zip(path, budget)
    result = WeightDict(format="keras", path=path)
    layers, visits = [], _Visits(path, budget)
    try:
        with h5py.File(source, "r") as h5:
            # a full model.save() file keeps its weights under model_weights/: a hard-linked group, not a
            # soft or external link into another file (_group refuses those)
            model_weights = _group(path, h5py, h5, "model_weights") if "model_weights" in h5.keys() else None
            root = h5 if model_weights is None else model_weights
            if any(k.startswith("layer_names") for k in root.attrs):
                raw = h5.attrs.get("model_config")
                model_config = json.loads(raw.decode() if isinstance(raw, bytes) else raw) if raw else None
                _read_legacy(path, h5py, root, model_config, result, layers, visits)
                result.meta["keras_format"] = "legacy"
            else:
                _walk_keras3(path, h5py, root, "", result, layers, visits)
                if config:
                    _attach_keras3_configs(layers, config)
                result.meta["keras_format"] = "keras3"
    except WeightFormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError, RecursionError, IndexError,
            MemoryError, OverflowError, NotImplementedError) as exc:
        raise WeightFormatError(path, f"not a readable Keras HDF5 weights file ({type(exc).__name__}: {exc})") from None
    if not result:
        raise WeightFormatError(path, "the file holds no weights (no layer variables found)")
    result.meta["layers"] = layers
    return result


def _open_keras_zip(path, budget):
    """A ``.keras`` archive: return (in-memory model.weights.h5, parsed config.json), paid from ``budget``."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("model.weights.h5")
            budget.spend_member(info, MAX_DATASET_BYTES)
            weights = io.BytesIO(archive.read(info))
            config = None
            if "config.json" in archive.namelist():
                config_info = archive.getinfo("config.json")
                budget.spend_member(config_info, MAX_METADATA_BYTES)
                config = json.loads(archive.read(config_info))
    except WeightFormatError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, RecursionError, NotImplementedError,
            zlib.error, MemoryError, TypeError) as exc:
        raise WeightFormatError(path, f"not a readable .keras archive ({type(exc).__name__}: {exc})") from None
    return weights, config if isinstance(config, dict) else None
