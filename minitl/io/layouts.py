"""Layout converters: rearrange another framework's weights into PyTorch/minitl layout and names.

The same numbers mean different things in different frameworks:

=================  ==========================  ==============================  =======================
layer              Keras                       PyTorch / minitl                conversion
=================  ==========================  ==============================  =======================
Dense / Linear     kernel (in, out)            weight (out, in)                ``kernel.T``
Conv2D             kernel (kh, kw, in, out)    weight (out, in, kh, kw)        ``transpose(3, 2, 0, 1)``
DepthwiseConv2D    kernel (kh, kw, in, mult)   weight (in*mult, 1, kh, kw)     reshape, transpose
BatchNorm          gamma beta mean variance    weight bias running_mean/var    same order; eps 1e-3
first Dense after  rows in (H, W, C) order     columns in (C, H, W) order      permute rows, then .T
a Flatten
=================  ==========================  ==============================  =======================

Keras names layers by class (``dense_1``), not by place, so a Keras file is matched to the model by
position *within each kind*: the model's i-th Linear takes the file's i-th Dense, the i-th Conv
the i-th Conv2D, the i-th BatchNorm the i-th BatchNormalization. ONNX keeps PyTorch names, but a
``MatMul`` (or ``Gemm`` without ``transB``) stores a Linear weight as (in, out).

A converter is a callable ``converter(weights, meta, targets) -> Conversion`` where ``weights`` is
the ordered ``{name: array}``, ``meta`` the reader's metadata and ``targets`` the model's ordered
``{name: shape}``. mapping.py chooses ``from_keras()`` / ``from_onnx()`` by the file's format.
"""
import math
import re
import typing
from collections import OrderedDict

import numpy

from .keras_h5 import class_from_path

KERAS_BN_EPSILON = 1e-3  # Keras' default; PyTorch's is 1e-5


class Conversion(typing.NamedTuple):
    """A converter's result: renamed/rearranged weights, what was done, and module settings to apply."""
    weights: "OrderedDict[str, numpy.ndarray]"
    notes: "list[tuple[str, str]]"                       # (model name, what was done)
    settings: "list[tuple[str, str, object, str]]"       # (module path, attribute, value, why)


def _model_layers(targets):
    """Group model keys by module path: ``[(path, kind, {leaf: shape})]`` in model order."""
    groups = OrderedDict()
    for name, shape in targets.items():
        path, _, leaf = name.rpartition(".")
        groups.setdefault(path, {})[leaf] = tuple(shape)
    layers = []
    for path, leaves in groups.items():
        weight = leaves.get("weight")
        if "running_mean" in leaves:
            kind = "batchnorm"
        elif weight is not None and len(weight) == 2:
            kind = "linear"
        elif weight is not None and len(weight) == 4:
            kind = "conv"
        else:
            kind = "other"
        layers.append((path, kind, leaves))
    return layers


_KERAS_KINDS = {"Dense": "linear", "Conv2D": "conv", "DepthwiseConv2D": "conv", "BatchNormalization": "batchnorm"}


def _keras_layers(weights, meta):
    """The file's layers ``[{path, class, keys, config}]``, from the reader's meta or from the key names."""
    if meta.get("layers"):
        return meta["layers"]
    groups = OrderedDict()
    for name in weights:
        owner = re.sub(r"/(vars/\d+|[^/]+:\d+|[^/]+)$", "", name)
        groups.setdefault(owner, []).append(name)
    return [{"path": path, "class": class_from_path(path), "keys": keys, "config": None}
            for path, keys in groups.items()]


def _flatten_permutation(kernel, channels, flatten_shape):
    """Reorder a Dense kernel's rows from Keras' (H, W, C) flatten order to PyTorch's (C, H, W).

    Returns ``(kernel, note)``; the note says what was assumed. When in_features == channels (global
    pooling before the Dense) the orders coincide and nothing changes.
    """
    features = kernel.shape[0]
    if flatten_shape is not None:
        channels, height, width = flatten_shape
    else:
        if not channels or features == channels or features % channels:
            return kernel, None
        side = math.isqrt(features // channels)
        if side * side != features // channels:
            return kernel, (f"NOT permuted: cannot infer H, W from {features} features and {channels} channels; "
                            "pass converters=from_keras(flatten_shape=(C, H, W))")
        height = width = side
    if channels * height * width != features:
        return kernel, f"NOT permuted: flatten_shape {(channels, height, width)} does not give {features} features"
    permuted = kernel.reshape(height, width, channels, -1).transpose(2, 0, 1, 3).reshape(features, -1)
    return permuted, f"rows permuted from NHWC flatten order (H={height}, W={width}, C={channels}) to NCHW"


def _convert_keras_layer(layer, kind, arrays, path, state):
    """One Keras layer -> ``[(model name, array, note)]`` and settings; ``state`` tracks channels."""
    out, settings = [], []
    config = layer.get("config") or {}
    if kind == "linear":
        kernel = arrays[0]
        note = "kernel (in, out) -> weight (out, in): transposed"
        if state["after_spatial"]:
            kernel, flatten_note = _flatten_permutation(kernel, state["channels"], state["flatten_shape"])
            note += f"; {flatten_note}" if flatten_note else ""
            state["after_spatial"] = False
        out.append((f"{path}.weight", kernel.T, note))
        if len(arrays) > 1:
            out.append((f"{path}.bias", arrays[1], "bias: unchanged"))
    elif kind == "conv":
        kernel = arrays[0]
        if layer["class"] == "DepthwiseConv2D":
            kh, kw, channels, multiplier = kernel.shape
            weight = kernel.reshape(kh, kw, channels * multiplier).transpose(2, 0, 1)[:, None]
            note = "depthwise kernel (kh, kw, in, mult) -> weight (in*mult, 1, kh, kw)"
        else:
            weight, note = kernel.transpose(3, 2, 0, 1), "kernel HWIO -> weight OIHW: transpose(3, 2, 0, 1)"
        out.append((f"{path}.weight", weight, note))
        if len(arrays) > 1:
            out.append((f"{path}.bias", arrays[1], "bias: unchanged"))
        state["channels"], state["after_spatial"] = weight.shape[0], True
    elif kind == "batchnorm":
        names = (["weight"] if config.get("scale", True) else []) + (["bias"] if config.get("center", True) else [])
        names += ["running_mean", "running_var"]
        keras_names = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                       "running_var": "moving_variance"}
        if len(names) != len(arrays):
            return None, []
        out += [(f"{path}.{n}", a, f"{keras_names[n]} -> {n}") for n, a in zip(names, arrays)]
        epsilon = float(config.get("epsilon", KERAS_BN_EPSILON))
        settings.append((path, "eps", epsilon, f"eps set to Keras' {epsilon:g}"
                         + ("" if "epsilon" in config else " (Keras default; the file has no config)")))
    return out, settings


def from_keras(flatten_shape=None):
    """A converter for Keras files. ``flatten_shape=(C, H, W)`` overrides the inferred Flatten input."""

    def convert(weights, meta, targets) -> Conversion:
        queues = {}
        for layer in _keras_layers(weights, meta):
            arrays = [weights[k] for k in layer["keys"]]
            kind = _KERAS_KINDS.get(layer["class"])
            if kind is None and arrays:
                kind = {2: "linear", 4: "conv"}.get(arrays[0].ndim)
            queues.setdefault(kind, []).append((layer, arrays))
        result, notes, settings, used = OrderedDict(), [], [], set()
        state = {"channels": None, "after_spatial": False, "flatten_shape": flatten_shape}
        for path, kind, _leaves in _model_layers(targets):
            if not queues.get(kind):
                continue
            layer, arrays = queues[kind].pop(0)
            converted, layer_settings = _convert_keras_layer(layer, kind, arrays, path, state)
            if converted is None:  # variable count does not fit: leave the keys as they are (unexpected)
                continue
            used.update(layer["keys"])
            for (name, array, note), source in zip(converted, layer["keys"]):
                result[name] = numpy.ascontiguousarray(array) if array.ndim else array
                notes.append((name, f"from {source}: {note}"))
            settings += layer_settings
        for name, array in weights.items():  # anything unmatched passes through, and will show as unexpected
            if name not in used:
                result[name] = array
        return Conversion(result, notes, settings)

    return convert


def from_onnx():
    """A converter for ONNX files: transpose 2-d weights stored (in, out) for MatMul / Gemm(transB=0)."""

    def convert(weights, meta, targets) -> Conversion:
        consumers = meta.get("consumers", {})
        result, notes = OrderedDict(), []
        for name, array in weights.items():
            uses = consumers.get(name, [])
            stored_in_out = any(u["input"] == 1 and (u["op_type"] == "MatMul" or
                                                     (u["op_type"] == "Gemm" and not u.get("transB", 0)))
                                for u in uses)
            target = targets.get(name)
            if stored_in_out and array.ndim == 2 and target is not None and tuple(target) == array.T.shape \
                    and tuple(target) != array.shape:
                array = numpy.ascontiguousarray(array.T)
                notes.append((name, f"{uses[0]['op_type']} weight (in, out) -> (out, in): transposed"))
            result[name] = array
        return Conversion(result, notes, [])

    return convert


def converters_for(format_name):
    """The default converters for a reader's ``format``: Keras and ONNX need one, the others none."""
    return {"keras": [from_keras()], "onnx": [from_onnx()]}.get(format_name, [])
