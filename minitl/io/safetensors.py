"""safetensors: read and write the format directly, with the reference implementation's rules.

The format (https://github.com/huggingface/safetensors) is deliberately boring, which is why it is
safe: 8 bytes little-endian ``N``, then ``N`` bytes of a UTF-8 JSON object
``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__": {...}}``,
then one byte buffer that the offsets index (relative to its start, ``end`` exclusive). There is no
code anywhere in it; the only dangers are lies about sizes, and every one is checked below before a
byte of tensor data is touched. The ``safetensors`` package is not used (it is a test oracle only).
"""
import json
import math
import os
import struct

import numpy

from ..atomic import atomic_write
from .dtypes import bfloat16_bits_to_float32
from .errors import WeightFormatError
from .limits import MAX_HEADER_BYTES, MAX_TENSORS, is_count, shape_fits
from .state import WeightDict, as_state_dict

# Every dtype the format defines, with its size in bits. Sub-byte and fp8 types are valid files
# that minitl cannot hold in NumPy: the validator accepts them, conversion refuses them.
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32,
    "F32": 32, "F64": 64, "I64": 64, "U64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
}
_NUMPY_OF = {
    "BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "F16": "<f2", "BF16": "<u2",
    "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8", "C64": "<c8",
}
_NAME_OF = {numpy.dtype(v): k for k, v in _NUMPY_OF.items() if k != "BF16"}  # keyed by little-endian dtype


def _reject_duplicates(pairs):
    """``object_pairs_hook`` for json: Python's json silently keeps the last duplicate; the spec forbids them."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in the header")
        result[key] = value
    return result


def _parse_header(path, header_bytes: bytes) -> dict:
    try:
        text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeightFormatError(path, f"safetensors header is not UTF-8 ({exc})") from None
    try:
        header = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as exc:
        raise WeightFormatError(path, f"safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WeightFormatError(path, f"safetensors header must be a JSON object, got {type(header).__name__}")
    return header


def _check_entry(path, name, info) -> tuple:
    """Validate one tensor entry; return ``(dtype, shape, begin, end)``."""
    if not isinstance(info, dict):
        raise WeightFormatError(path, f"tensor {name!r}: header entry must be an object, got {info!r}")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not (isinstance(dtype, str) and dtype in DTYPE_BITS):
        raise WeightFormatError(path, f"tensor {name!r}: unknown dtype {dtype!r} (known: {', '.join(DTYPE_BITS)})")
    if not (isinstance(shape, list) and shape_fits(shape, DTYPE_BITS[dtype] // 8)):
        raise WeightFormatError(path, f"tensor {name!r}: shape must be a list of non-negative integers whose "
                                      f"non-zero entries multiply to under 2**63 bytes, got {shape!r:.200}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(is_count, offsets))):
        raise WeightFormatError(path, f"tensor {name!r}: data_offsets must be [begin, end] integers, got {offsets!r}")
    return dtype, tuple(shape), offsets[0], offsets[1]


def read_safetensors_header(path, data: bytes):
    """Validate the whole layout of ``data`` (a file's bytes); return ``(entries, metadata, buffer_start)``.

    ``entries`` is ``[(name, dtype, shape, begin, end)]`` in header order. Notice: after sorting by
    offset each tensor must begin exactly where the previous one ended, which forbids both gaps
    and overlaps with one comparison.
    """
    if len(data) < 8:
        raise WeightFormatError(path, f"file is {len(data)} bytes, too short for the 8-byte safetensors header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES:
        raise WeightFormatError(path, f"safetensors header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte "
                                      "limit (the file is corrupt or not safetensors)")
    if 8 + header_len > len(data):
        raise WeightFormatError(path, f"safetensors header length {header_len} runs past the end of the "
                                      f"{len(data)}-byte file (truncated?)")
    # every tensor entry is one JSON object: counting "{" bounds the entries before parsing builds
    # them (loosely, as a name may contain a brace), and the parsed header is counted exactly
    objects = data.count(b"{", 8, 8 + header_len)
    header = _parse_header(path, data[8:8 + header_len]) if objects <= 2 * MAX_TENSORS + 2 else None
    if header is None or len(header) - ("__metadata__" in header) > MAX_TENSORS:
        count = objects if header is None else len(header)
        raise WeightFormatError(path, f"safetensors header has {count} entries, over the limit of "
                                      f"{MAX_TENSORS} tensors per file; split the file into shards")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise WeightFormatError(path, "safetensors __metadata__ must be an object of string -> string")
    entries = [(name, *_check_entry(path, name, info)) for name, info in header.items()]
    expected_begin = 0
    for name, dtype, shape, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != expected_begin or end < begin:
            problem = "overlaps the previous tensor" if begin < expected_begin else "leaves a gap before it"
            if end < begin:
                problem = "ends before it begins"
            raise WeightFormatError(path, f"tensor {name!r}: data_offsets [{begin}, {end}] {problem} "
                                          f"(expected begin {expected_begin})")
        bits = math.prod(shape) * DTYPE_BITS[dtype]
        if bits % 8:
            raise WeightFormatError(path, f"tensor {name!r}: {math.prod(shape)} x {dtype} is not a whole number "
                                          "of bytes")
        if end - begin != bits // 8:
            raise WeightFormatError(path, f"tensor {name!r}: shape {list(shape)} of {dtype} needs {bits // 8} bytes "
                                          f"but data_offsets give {end - begin}")
        expected_begin = end
    buffer_start = 8 + header_len
    if buffer_start + expected_begin != len(data):
        extra = len(data) - buffer_start - expected_begin
        problem = f"{extra} trailing bytes after the last tensor" if extra > 0 else \
            f"tensor data runs {-extra} bytes past the end of the file (truncated?)"
        raise WeightFormatError(path, f"safetensors buffer mismatch: {problem}")
    return entries, metadata, buffer_start


def load_safetensors(path) -> WeightDict:
    """Read a ``.safetensors`` file into a :class:`WeightDict` (header order; BF16 widened to float32).

    ``meta["metadata"]`` holds the file's ``__metadata__`` (string -> string) or ``None``.
    """
    with open(path, "rb") as file:
        data = file.read()
    entries, metadata, start = read_safetensors_header(path, data)
    result = WeightDict(format="safetensors", path=os.fspath(path), meta={"metadata": metadata})
    for name, dtype, shape, begin, end in entries:
        if dtype not in _NUMPY_OF:
            raise WeightFormatError(path, f"tensor {name!r} has dtype {dtype}, valid safetensors but not "
                                          "representable in NumPy; convert it to F16/F32 before loading")
        array = numpy.frombuffer(data, dtype=_NUMPY_OF[dtype], count=math.prod(shape), offset=start + begin)
        array = array.reshape(shape)
        # astype copies: the result is writable, native-endian and no longer pins the file's bytes.
        if dtype == "BF16":
            result[name] = bfloat16_bits_to_float32(array)
        else:
            result[name] = array.astype(array.dtype.newbyteorder("="))
    return result


def save_safetensors(obj, path, metadata=None) -> None:
    """Write a model or state_dict as ``.safetensors`` (atomically), as the reference writer lays it out.

    Data is ordered by descending dtype size then name, so every tensor starts aligned to its item
    size; the header keeps the model's order and is space-padded to a multiple of 8.
    """
    state = as_state_dict(obj)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must map strings to strings, e.g. {'format': 'pt'}")
    arrays = {}
    for name, array in state.items():
        dtype = array.dtype.newbyteorder("<")  # a big-endian array is written little-endian, like any other
        if dtype not in _NAME_OF:
            raise WeightFormatError(path, f"array {name!r} has dtype {array.dtype}, which safetensors cannot store; "
                                          "cast it (e.g. .astype('float32')) before saving")
        arrays[name] = (_NAME_OF[dtype], numpy.asarray(array, dtype=dtype, order="C"))
    layout = sorted(arrays, key=lambda n: (-arrays[n][1].dtype.itemsize, n))
    offsets, position = {}, 0
    for name in layout:
        offsets[name] = (position, position + arrays[name][1].nbytes)
        position += arrays[name][1].nbytes
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    for name, (dtype_name, array) in arrays.items():
        header[name] = {"dtype": dtype_name, "shape": list(array.shape), "data_offsets": list(offsets[name])}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with atomic_write(path) as file:
        file.write(struct.pack("<Q", len(header_bytes)))
        file.write(header_bytes)
        for name in layout:
            file.write(arrays[name][1].tobytes())
