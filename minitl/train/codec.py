"""Split a nested state (dicts, lists, numbers and arrays) into JSON plus a flat set of arrays.

An optimizer's ``state_dict()`` is a tree such as
``{"state": {0: {"momentum_buffer": array}}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}``.
JSON can hold the numbers and the shape of the tree but not the arrays, and an ``.npz`` can hold
the arrays but not the tree. ``encode`` walks the tree once, moves every array out into a flat
``{"prefix/0": array, ...}`` dict and leaves a small marker in its place; ``decode`` reverses it.
Nothing is pickled, so reading a checkpoint never runs code.

What a student should notice: JSON turns the integer dict keys ``{0: ...}`` into strings, so dicts
whose keys are not all strings are written as a list of ``[key, value]`` pairs, and tuples are
tagged, so the tree comes back with the same Python types it went in with.
"""
import numpy

from ..core import backend
from ..core.tensor import Tensor
from .errors import CheckpointError

ARRAY, ITEMS, TUPLE = "__array__", "__items__", "__tuple__"
MARKERS = (ARRAY, ITEMS, TUPLE)


def _is_array(value) -> bool:
    return isinstance(value, (numpy.ndarray, numpy.generic, Tensor)) or backend.is_cupy_array(value)


def encode(tree, prefix: str, arrays: dict, where: str = None):
    """Return a JSON-able copy of ``tree``; arrays go into ``arrays`` under ``prefix/<n>``.

    Tensors come back from ``decode`` as Tensors, NumPy scalars as NumPy scalars (same dtype).
    Raises ``CheckpointError`` naming the path inside the tree of a value it cannot store.
    """
    where = where or prefix
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if _is_array(tree):
        kind = "tensor" if isinstance(tree, Tensor) else "scalar" if isinstance(tree, numpy.generic) else "array"
        host = backend.asnumpy(tree.data if isinstance(tree, Tensor) else tree)
        if host.dtype.hasobject:
            raise CheckpointError(None, f"{where} is an object array; only numeric arrays can be stored")
        name = f"{prefix}/{len([k for k in arrays if k.startswith(prefix + '/')])}"
        arrays[name] = numpy.ascontiguousarray(host)
        return {ARRAY: name, "kind": kind}
    if isinstance(tree, dict):
        if all(isinstance(k, str) and k not in MARKERS for k in tree):
            return {k: encode(v, prefix, arrays, f"{where}.{k}") for k, v in tree.items()}
        return {ITEMS: [[encode(k, prefix, arrays, f"{where} key"), encode(v, prefix, arrays, f"{where}[{k!r}]")]
                        for k, v in tree.items()]}
    if isinstance(tree, tuple):
        return {TUPLE: [encode(v, prefix, arrays, f"{where}[{i}]") for i, v in enumerate(tree)]}
    if isinstance(tree, list):
        return [encode(v, prefix, arrays, f"{where}[{i}]") for i, v in enumerate(tree)]
    raise CheckpointError(None, f"{where} is a {type(tree).__name__}, which a checkpoint cannot store; "
                                "state_dict() values must be numbers, strings, arrays, lists or dicts")


def decode(tree, arrays):
    """Rebuild what ``encode`` took apart; ``arrays`` maps the stored names to host arrays."""
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if ARRAY in tree:
        array = numpy.array(arrays[tree[ARRAY]])  # a private copy: the file's buffer is not shared
        if tree.get("kind") == "tensor":
            return Tensor(array, dtype=array.dtype)
        return array[()] if tree.get("kind") == "scalar" else array
    if ITEMS in tree:
        return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in tree[ITEMS]}
    if TUPLE in tree:
        return tuple(decode(v, arrays) for v in tree[TUPLE])
    return {k: decode(v, arrays) for k, v in tree.items()}


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def to_json_safe(value):
    """A copy of a small tree (an RNG state) with arrays written as lists, for the history's JSON."""
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if isinstance(value, numpy.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, numpy.generic):
        return value.item()
    return value


# What a random state may hold (MT19937's key is 624 uint32): a file naming "(8000,8000)f8" as its
# dtype would otherwise make one JSON number allocate half a gigabyte.
JSON_ARRAY_DTYPES = ("<u4", "<u8", "<i4", "<i8", "<f8", "|u1")
MAX_JSON_ARRAY = 1 << 16


def from_json_safe(value):
    """Undo ``to_json_safe`` (lists stay lists; tagged arrays become arrays again).

    Notice: the tagged arrays come from a file, so only flat lists of numbers of a few dtypes are
    accepted; anything else raises ``CheckpointError``.
    """
    if isinstance(value, dict):
        if "__ndarray__" in value:
            items, dtype = value["__ndarray__"], value.get("dtype")
            if not (dtype in JSON_ARRAY_DTYPES and isinstance(items, list) and len(items) <= MAX_JSON_ARRAY
                    and all(type(item) in (int, float) for item in items)):
                raise CheckpointError(None, f"a stored random state holds an array of dtype {dtype!r:.40} that is "
                                            f"not a flat list of at most {MAX_JSON_ARRAY} numbers of "
                                            f"{JSON_ARRAY_DTYPES}: refused")
            return numpy.array(items, dtype=dtype)
        return {k: from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_safe(v) for v in value]
    return value
