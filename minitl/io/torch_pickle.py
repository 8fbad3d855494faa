"""Read PyTorch ``.pt`` / ``.pth`` files without PyTorch, and without running any code from them.

A file from ``torch.save`` (zip format, torch >= 1.6) is a ZIP archive::

    <prefix>/data.pkl      a pickle of the saved object, tensors replaced by storage references
    <prefix>/data/0, 1...  the raw bytes of each storage (little-endian unless <prefix>/byteorder says big)
    <prefix>/version ...   small text records we only glance at

A pickle is a little program: opcode ``GLOBAL os system`` followed by ``REDUCE`` *calls*
``os.system``. ``pickle.load`` on an untrusted file is therefore remote code execution. The defence
here is the one the Python docs call "restricting globals": a ``pickle.Unpickler`` subclass whose
``find_class`` (the only door through which GLOBAL, STACK_GLOBAL, INST, OBJ and EXT* opcodes reach
Python objects) admits an exact allow-list of ``(module, name)`` pairs and maps each to a harmless
stand-in of ours. ``persistent_load`` turns each storage reference into a NumPy array read from
``data/<key>``, after checking that the record is exactly as long as the reference claims.

Before any of that, pickle_scan.py reads the opcodes and refuses a pickle that would cost far
more memory or time than its size (memo bombs, millions of objects, huge integers), and every
byte read -- data.pkl, byteorder, each storage, each rebuilt tensor -- is paid from ONE
``limits.ByteBudget`` for the whole file.
"""
import collections
import io
import math
import os
import pickle
import re
import struct
import typing
import zipfile
import zlib
from collections.abc import Mapping

import numpy

from .dtypes import bfloat16_bits_to_float32
from .errors import UnsafeWeightsError, WeightFormatError
from .limits import MAX_METADATA_BYTES, ByteBudget, is_count, shape_fits
from .pickle_scan import scan_pickle
from .state import WeightDict, strip_key_prefix

# torch.<Name>Storage -> NumPy dtype of one element ("bfloat16" is widened to float32 on read).
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "bfloat16",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "|i1",
    "ByteStorage": "|u1", "BoolStorage": "|b1",
}
LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")  # pickled magic number of pre-1.6 files
MAX_BYTEORDER_BYTES = 16  # the record holds "little" or "big"
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")
RESAVE_HINT = ("re-save it with a recent PyTorch: obj = torch.load(path, weights_only=False) (only if you trust "
               "the file), then torch.save(obj.state_dict() if hasattr(obj, 'state_dict') else obj, new_path)")


class _StorageType(typing.NamedTuple):
    """Stand-in for ``torch.FloatStorage`` etc. A NamedTuple: not callable, and BUILD cannot alter it."""
    name: str
    dtype: str


class _StateDict(collections.OrderedDict):
    """Stand-in for ``collections.OrderedDict``: BUILD may set ``_metadata`` (a dict) and nothing else.

    Notice: BUILD on a plain object updates its ``__dict__``, so BUILD ``{"values": ...}`` on a real
    OrderedDict would replace that one object's ``.values`` method; ``__setstate__`` forbids it.
    """

    def __setstate__(self, state):
        if not (type(state) is dict and set(state) <= {"_metadata"} and isinstance(state.get("_metadata", {}), dict)):
            raise pickle.UnpicklingError(f"BUILD sets {state!r:.80} on an OrderedDict; only _metadata (a dict "
                                         "of module versions) is allowed")
        if "_metadata" in state:
            self._metadata = state["_metadata"]


class _Tensor(typing.NamedTuple):
    """A rebuilt tensor while unpickling. Wrapped so that no pickle opcode can reach the array itself."""
    array: numpy.ndarray


def _is_storage(value) -> bool:
    """The ``(storage type, 1-d array)`` pair that persistent_load gives for a storage reference."""
    return type(value) is tuple and len(value) == 2 and isinstance(value[0], _StorageType)


class _RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves globals only from an exact allow-list and reads storages from the zip."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: str, byteorder: str,
                 budget: ByteBudget):
        super().__init__(file)
        self._archive, self._prefix, self._path, self._byteorder = archive, prefix, path, byteorder
        self._budget = budget  # bytes all rebuilt tensors may take together
        self._storages = {}  # key -> (storage type, 1-d array): shared storages are read once
        self._allowed = {
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_tensor"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self._rebuild_parameter,
            ("collections", "OrderedDict"): _StateDict,  # BUILD may set only _metadata on it
            ("_codecs", "encode"): self._codecs_encode,               # how protocol 2 spells a bytes object
            ("torch", "Size"): tuple,
        }

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name, STORAGE_DTYPES[name])
        target = self._allowed.get((module, name))
        if target is None:
            raise UnsafeWeightsError(
                self._path, f"data.pkl asks for the Python global {module}.{name}, which is not on minitl's "
                "allow-list of plain-data names, so loading stopped before anything ran. A weights file needs "
                "only tensors and dicts: if you trust its source, load it in PyTorch and save just the "
                "state_dict (torch.save(model.state_dict(), path))")
        return target

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise WeightFormatError(self._path, f"data.pkl has a persistent id {pid!r:.80} that is not a "
                                                "('storage', type, key, location, numel) reference")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise WeightFormatError(self._path, f"storage reference {key!r:.40} names no torch storage class")
        if not (isinstance(key, str) and re.fullmatch(r"[0-9]{1,12}", key)) or not is_count(numel):
            raise WeightFormatError(self._path, f"storage reference has a bad key {key!r:.40} or size {numel!r:.40}")
        return self._storage(storage_type, key, numel)

    def _storage(self, storage_type, key, numel):
        if key in self._storages:
            cached_type, array = self._storages[key]
            if cached_type != storage_type or array.size != numel:
                raise WeightFormatError(self._path, f"storage data/{key} is referenced with two different types "
                                                    "or sizes")
            return self._storages[key]
        record = f"{self._prefix}data/{key}"
        wide_dtype = numpy.dtype("<u2" if storage_type.dtype == "bfloat16" else storage_type.dtype)
        try:
            info = self._archive.getinfo(record)
        except KeyError:
            raise WeightFormatError(self._path, f"data.pkl refers to storage {record}, which is not in the "
                                                "archive") from None
        if info.file_size != numel * wide_dtype.itemsize:
            raise WeightFormatError(self._path, f"storage {record} holds {info.file_size} bytes but its tensor "
                                                f"needs {numel} x {wide_dtype.itemsize} bytes (truncated or corrupt)")
        self._budget.spend_member(info)
        raw = self._archive.read(record)
        if len(raw) != info.file_size:
            raise WeightFormatError(self._path, f"storage {record} is shorter than the archive says")
        array = numpy.frombuffer(raw, dtype=wide_dtype.newbyteorder(">" if self._byteorder == "big" else "<"))
        if storage_type.dtype == "bfloat16":
            array = bfloat16_bits_to_float32(array)
        else:
            array = array.astype(wide_dtype.newbyteorder("="))
        self._storages[key] = (storage_type, array)
        return self._storages[key]

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, *_ignored):
        """Rebuild one tensor: a strided view of ``storage`` (all counts in elements), copied to C order.

        Notice: every index the view can touch, offset + sum((size - 1) * stride), is checked to lie
        inside the storage *before* the view is made: NumPy's as_strided does no checking at all.
        A tensor may have more elements than its storage (stride 0, from ``expand``; tied weights,
        w and w.t()); only that last reachable index matters, and every copy is paid from the file's
        one byte budget, so a 4 MB file cannot expand one storage into gigabytes.
        """
        if not _is_storage(storage):
            raise WeightFormatError(self._path, "a tensor in data.pkl is not built on a storage")
        flat = storage[1]
        if not (is_count(storage_offset) and isinstance(size, tuple) and isinstance(stride, tuple)
                and len(size) == len(stride) and shape_fits(size, flat.itemsize) and all(map(is_count, stride))):
            raise WeightFormatError(self._path, f"a tensor has a bad offset/size/stride {storage_offset!r:.30} "
                                                f"{size!r:.60} {stride!r:.60}")
        numel = math.prod(size)
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) if numel else storage_offset - 1
        if last >= flat.size or storage_offset > flat.size:
            raise WeightFormatError(self._path, f"a tensor of size {list(size)} at offset {storage_offset} "
                                                f"reaches past its storage of {flat.size} elements (corrupt file)")
        self._budget.spend(numel * flat.itemsize, f"a tensor of size {list(size)}")
        view = numpy.lib.stride_tricks.as_strided(flat[storage_offset:], shape=size,
                                                  strides=[s * flat.itemsize for s in stride], writeable=False)
        return _Tensor(numpy.array(view, order="C"))

    def _rebuild_parameter(self, data, *_ignored):
        if not isinstance(data, _Tensor):
            raise WeightFormatError(self._path, "a Parameter in data.pkl does not wrap a tensor")
        return data

    def _codecs_encode(self, text, encoding="utf-8"):
        if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
            raise WeightFormatError(self._path, "data.pkl calls _codecs.encode other than as protocol 2 bytes")
        return text.encode("latin1")


def _children(value):
    return list(value.values()) if isinstance(value, dict) else list(value)


def _unwrap_tensors(path, root):
    """Replace every _Tensor stand-in by its array, through dicts, lists and tuples.

    Notice: a pickle is a graph, not a tree. A hostile one nests 200,000 levels deep, shares one
    list 2**40 ways, or puts a list inside itself; so the walk is a loop with its own stack (no
    recursion), converts each container once (``done``, by id) and refuses a container met again
    while its own contents are still being converted (``open_``): that is a cycle.
    """
    done, open_ = {}, set()
    stack = [(root, False)]
    while stack:
        value, children_ready = stack.pop()
        if isinstance(value, _StorageType) or _is_storage(value):
            raise WeightFormatError(path, "data.pkl holds a bare storage or storage class outside a tensor; "
                                          "minitl reads tensors, dicts and lists only")
        if isinstance(value, _Tensor) or not isinstance(value, (dict, list, tuple)) or id(value) in done:
            continue
        if not children_ready:
            if id(value) in open_:
                raise WeightFormatError(path, f"data.pkl holds a {type(value).__name__} that contains itself; "
                                              "a state_dict never does (corrupt or hostile file)")
            open_.add(id(value))
            stack.append((value, True))
            stack.extend((child, False) for child in reversed(_children(value)))
            continue
        open_.discard(id(value))
        done[id(value)] = _converted(value, done)
    return _converted_value(root, done)


def _converted_value(value, done):
    if isinstance(value, _Tensor):
        return value.array
    return done.get(id(value), value) if isinstance(value, (dict, list, tuple)) else value


def _converted(value, done):
    """One container with its (already converted) children swapped in."""
    if isinstance(value, dict):
        result = collections.OrderedDict() if isinstance(value, collections.OrderedDict) else {}
        result.update((k, _converted_value(v, done)) for k, v in value.items())
        if isinstance(getattr(value, "_metadata", None), dict):
            result._metadata = value._metadata  # per-module versions that torch's state_dict carries
        return result
    return type(value)(_converted_value(v, done) for v in value)


def _refuse_non_zip(path, head: bytes):
    if head.startswith(LEGACY_MAGIC):
        raise WeightFormatError(path, "this is the legacy (pre-1.6, _use_new_zipfile_serialization=False) PyTorch "
                                      "format, which minitl does not read; " + RESAVE_HINT)
    if head[257:262] == b"ustar":
        raise WeightFormatError(path, "this is a tar file: the PyTorch <= 0.1.10 format, which minitl does not "
                                      "read; " + RESAVE_HINT)
    raise WeightFormatError(path, "not a PyTorch zip file (it does not start with a ZIP header); expected a file "
                                  "written by torch.save in PyTorch >= 1.6")


def _find_prefix(path, names) -> str:
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        raise WeightFormatError(path, "this is a TorchScript archive (torch.jit.save), not a state_dict; in "
                                      "PyTorch run torch.save(torch.jit.load(path).state_dict(), new_path)")
    pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pickles) != 1:
        found = "no data.pkl entry" if not pickles else f"{len(pickles)} data.pkl entries"
        raise WeightFormatError(path, f"zip archive has {found}; it is not a file written by torch.save")
    return pickles[0][: -len("data.pkl")]


def _read_archive(path, archive: zipfile.ZipFile):
    prefix = _find_prefix(path, archive.namelist())
    info = archive.getinfo(prefix + "data.pkl")
    budget = ByteBudget(path)  # one for the whole file: records, storages and rebuilt tensors
    byteorder = "little"
    if prefix + "byteorder" in archive.namelist():
        record = archive.getinfo(prefix + "byteorder")
        budget.spend_member(record, MAX_BYTEORDER_BYTES)
        byteorder = archive.read(record).decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise WeightFormatError(path, f"unknown byteorder record {byteorder!r:.20}")
    budget.spend_member(info, MAX_METADATA_BYTES)
    data = archive.read(info)
    scan_pickle(path, data)
    unpickler = _RestrictedUnpickler(io.BytesIO(data), archive, prefix, os.fspath(path), byteorder, budget)
    return _unwrap_tensors(path, unpickler.load()), byteorder


def load_torch(path, strip_prefixes=False) -> WeightDict:
    """Read a ``torch.save`` zip file into a :class:`WeightDict` of NumPy arrays, running no code.

    A checkpoint ``{'state_dict': ...}`` / ``{'model': ...}`` is unwrapped (``meta['wrapper']`` says
    which key). ``strip_prefixes=True`` removes ``module.`` (DataParallel) and ``_orig_mod.``
    (torch.compile) from the keys; pass a tuple to strip other prefixes. Top-level entries that are
    not tensors (``epoch``, ...) are kept in ``meta['extra']``; BatchNorm versions in
    ``meta['module_versions']``. bfloat16 is widened to float32.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(512)
        if not head.startswith(b"PK"):
            _refuse_non_zip(path, head)
        file.seek(0)
        try:
            with zipfile.ZipFile(file) as archive:
                obj, byteorder = _read_archive(path, archive)
        except WeightFormatError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, struct.error) as exc:
            raise WeightFormatError(path, f"the zip archive is truncated or corrupt "
                                          f"({type(exc).__name__}: {exc})") from None
        except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, KeyError, IndexError,
                MemoryError, RecursionError, OverflowError, UnicodeError) as exc:
            raise WeightFormatError(path, f"data.pkl is not a valid weights pickle "
                                          f"({type(exc).__name__}: {exc})") from None
    return _to_weight_dict(path, obj, byteorder, strip_prefixes)


def _to_weight_dict(path, obj, byteorder, strip_prefixes) -> WeightDict:
    wrapper, extra = None, {}
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                extra = {k: v for k, v in obj.items() if k != key}
                wrapper, obj = key, obj[key]
                break
    if not isinstance(obj, Mapping):
        raise WeightFormatError(path, f"the file holds a {type(obj).__name__}, not a dict of tensors (state_dict)")
    prefixes = ("module.", "_orig_mod.") if strip_prefixes is True else tuple(strip_prefixes or ())
    result = WeightDict(format="torch", path=path,
                        meta={"wrapper": wrapper, "byteorder": byteorder, "extra": extra,
                              "module_versions": getattr(obj, "_metadata", None)})
    for key, value in obj.items():
        if isinstance(value, numpy.ndarray) and isinstance(key, str):
            name = strip_key_prefix(key, prefixes)
            if name in result:
                raise WeightFormatError(path, f"stripping {prefixes} maps two keys to {name!r}")
            result[name] = value
        else:
            result.meta["extra"][key] = value
    if not result:
        raise WeightFormatError(path, f"the file holds no tensors at its top level (keys: {list(obj)[:10]}); "
                                      f"if the weights sit under another key, load that entry")
    return result
