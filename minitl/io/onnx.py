"""Read the weights (initializers) of an ONNX model through the ``onnx`` package (an optional extra).

An ONNX file is a protobuf ``ModelProto``; its weights are the graph's ``initializer`` tensors and
the ``value`` of ``Constant`` nodes. ``onnx.numpy_helper.to_array`` decodes every storage variant
(``raw_data`` little-endian, or one typed field). Names are whatever the exporter chose: PyTorch's
exporter keeps ``features.0.weight`` unless it fused Conv+BatchNorm (then ``onnx::Conv_123``).

``meta["consumers"]`` maps each weight to the nodes that read it (``op_type``, input index and
the ``transA``/``transB`` attributes), which is how layouts.py knows that a ``MatMul`` weight is
stored (in, out) and must be transposed for a Linear layer. External data files are read only
from inside the model's own folder: an absolute path or ``..`` in ``location`` is refused.
"""
import os

import numpy

from .dtypes import bfloat16_bits_to_float32
from .errors import UnsafeWeightsError, WeightFormatError, require_optional
from .limits import shape_fits
from .state import WeightDict

ONNX_HINT = "pip install 'minitl[onnx]'   (or just: pip install onnx)"


def _check_external(path, onnx, tensor, base_dir):
    """Refuse external-data locations that would read outside the model's folder."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return
    location = {entry.key: entry.value for entry in tensor.external_data}.get("location", "")
    if "\x00" in location:  # os.path would raise ValueError("embedded null byte")
        raise WeightFormatError(path, f"initializer {tensor.name!r} has a NUL byte in its external-data "
                                      f"location {location!r:.80} (corrupt file)")
    target = os.path.realpath(os.path.join(base_dir, location))
    if os.path.isabs(location) or ".." in location.replace("\\", "/").split("/") or \
            os.path.commonpath([target, os.path.realpath(base_dir)]) != os.path.realpath(base_dir):
        raise UnsafeWeightsError(path, f"initializer {tensor.name!r} points its external data at {location!r}, "
                                       "outside the model's folder; refused")


def _to_array(path, numpy_helper, onnx, tensor, base_dir) -> numpy.ndarray:
    if not shape_fits(tuple(tensor.dims), 1):
        raise WeightFormatError(path, f"initializer {tensor.name!r} has dims {list(tensor.dims)[:8]!r:.80} "
                                      f"({len(tensor.dims)} of them): not the shape of an array")
    try:
        array = numpy.asarray(numpy_helper.to_array(tensor, base_dir))
    except Exception as exc:  # onnx raises many kinds on a malformed tensor
        raise WeightFormatError(path, f"initializer {tensor.name!r} cannot be decoded "
                                      f"({type(exc).__name__}: {exc})") from None
    if tensor.data_type == onnx.TensorProto.BFLOAT16:
        return bfloat16_bits_to_float32(array.view(numpy.uint16))
    if array.dtype.kind not in "biufc":
        raise WeightFormatError(path, f"initializer {tensor.name!r} has ONNX data_type {tensor.data_type} "
                                      f"({array.dtype}), which minitl cannot hold; convert it to float32 first")
    return numpy.array(array, dtype=array.dtype.newbyteorder("="), order="C")


def load_onnx(path) -> WeightDict:
    """Read an ONNX model's initializers (and Constant tensors) into a :class:`WeightDict`, graph order.

    Needs the ``onnx`` package. No node is executed; only the stored tensors are decoded.
    """
    onnx = require_optional("onnx", ONNX_HINT)
    from onnx import numpy_helper  # noqa: PLC0415 - optional dependency (onnx), imported on first use

    path = os.fspath(path)
    with open(path, "rb") as file:
        raw = file.read()
    try:
        model = onnx.load_model_from_string(raw)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise WeightFormatError(path, f"not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    base_dir = os.path.dirname(os.path.abspath(path))
    graph = model.graph
    tensors = list(graph.initializer)
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value" and attribute.HasField("t") and node.output:
                    attribute.t.name = node.output[0]
                    tensors.append(attribute.t)
    result = WeightDict(format="onnx", path=path, meta={"consumers": {}, "producer": graph.name,
                                                        "opset": [(o.domain, o.version) for o in model.opset_import]})
    for tensor in tensors:
        _check_external(path, onnx, tensor, base_dir)
        if tensor.name in result:
            raise WeightFormatError(path, f"initializer name {tensor.name!r} appears twice")
        result[tensor.name] = _to_array(path, numpy_helper, onnx, tensor, base_dir)
    consumers = result.meta["consumers"]
    for node in graph.node:
        attributes = {a.name: a.i for a in node.attribute if a.name in ("transA", "transB")}
        for index, name in enumerate(node.input):
            if name in result:
                consumers.setdefault(name, []).append({"op_type": node.op_type, "input": index, **attributes})
    return result
