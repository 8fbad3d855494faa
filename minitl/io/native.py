"""minitl's own weight file: a plain ``.npz`` plus a JSON manifest, readable by NumPy alone.

Layout (a ZIP, as ``numpy.savez`` writes it)::

    conv1.weight.npy  bn1.running_mean.npy  ...    one .npy member per array, in state_dict order
    manifest.json                                  what the arrays are and what they belong to

The manifest records the architecture name and arguments, class names, the input normalisation
(mean/std), the minitl version, and for every array its dtype, shape and the sha256 of its bytes,
so a corrupted or swapped file is caught on load. ``numpy.load(path)`` opens the file too
(``manifest.json`` comes back as bytes). Loading never unpickles: each ``.npy`` header is parsed
and checked (no object dtypes, size matches the member) before any data is read.

Public: ``save(model_or_state_dict, path, meta=None)`` and ``load(path)``, re-exported as
``minitl.save`` / ``minitl.load``. ``read_npz(path)`` is the bounded reader of any numeric
``.npz`` (one byte budget for the whole file, numeric dtypes only); checkpoints use it too.
"""
import hashlib
import io
import json
import math
import os
import tokenize
import zipfile
from collections import OrderedDict

import numpy
from numpy.lib import format as npy_format

from ..atomic import atomic_write
from ..version import __version__
from .errors import WeightFormatError
from .limits import MAX_METADATA_BYTES, ByteBudget, shape_fits
from .state import WeightDict, as_state_dict

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
MAX_NPY_HEADER = 10_000
NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex: no strings (S, U), void (V) or objects (O)
CHUNK_BYTES = 1 << 20  # members are read in pieces straight into their arrays: no second full-size copy


def _json_default(value):
    """Let meta carry NumPy scalars and arrays (mean/std often are)."""
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return value.tolist()
    raise TypeError(f"meta value {value!r:.60} is not JSON-serialisable; use numbers, strings, lists or dicts")


def _manifest(obj, state, meta) -> dict:
    meta = dict(meta or {})
    architecture = meta.pop("architecture", None)
    if architecture is None and not isinstance(obj, dict) and hasattr(obj, "state_dict"):
        architecture = type(obj).__name__
    return {
        "format": "minitl-weights", "format_version": FORMAT_VERSION, "minitl_version": __version__,
        "architecture": architecture,
        "arguments": meta.pop("arguments", None) or getattr(obj, "config", None),
        "class_names": meta.pop("class_names", None),
        "normalization": {"mean": meta.pop("mean", None), "std": meta.pop("std", None)},
        "arrays": [{"name": name, "dtype": array.dtype.str, "shape": list(array.shape),
                    "sha256": hashlib.sha256(array.tobytes()).hexdigest()} for name, array in state.items()],
        "extra": meta,
    }


def save(obj, path, meta=None) -> None:
    """Write a model or state_dict to ``path`` (``.npz``) with a manifest, atomically.

    ``meta`` may give ``architecture``, ``arguments`` (dict), ``class_names``, ``mean``, ``std``;
    any other JSON-able keys land in the manifest's ``extra``. CuPy arrays are copied to the host.
    """
    state = {name: numpy.asarray(array, order="C") for name, array in as_state_dict(obj).items()}
    manifest = json.dumps(_manifest(obj, state, meta), indent=1, default=_json_default).encode("utf-8")
    with atomic_write(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in state.items():
            member = io.BytesIO()
            npy_format.write_array(member, array, allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
        archive.writestr(zipfile.ZipInfo(MANIFEST, date_time=(1980, 1, 1, 0, 0, 0)), manifest)


def _read_npy(path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ByteBudget):
    """One ``.npy`` member -> (array, sha256 of its data bytes). Sizes checked before any allocation.

    Notice: three numbers must agree before a byte is allocated: the member's declared size, its
    compressed size (the file's one ``budget`` refuses 400 MB of members squeezed into 400 kB) and
    the header's shape x itemsize. Only then is the array allocated, and filled in 1 MiB pieces.
    """
    name = info.filename
    budget.spend_member(info)
    with archive.open(info) as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(member, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(member, max_header_size=MAX_NPY_HEADER)
        else:
            raise WeightFormatError(path, f"member {name}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise WeightFormatError(path, f"member {name} is an object array, i.e. a pickle that could run code; "
                                          "refused. Save numeric arrays only")
        if dtype.kind not in NUMERIC_KINDS or dtype.subdtype is not None or not shape_fits(shape, dtype.itemsize):
            raise WeightFormatError(path, f"member {name} holds {dtype.str} of shape {shape!r:.80}: not a numeric "
                                          "array (strings and records are refused). Save numeric arrays only")
        expected = math.prod(shape) * dtype.itemsize
        if info.file_size != member.tell() + expected:
            raise WeightFormatError(path, f"member {name}: header says shape {shape} of {dtype} ({expected} bytes) "
                                          f"but the member holds {info.file_size - member.tell()} data bytes")
        array = numpy.empty(shape, dtype=dtype, order="F" if fortran else "C")
        data, digest = memoryview(array.reshape(-1, order="A")).cast("B"), hashlib.sha256()
        for start in range(0, expected, CHUNK_BYTES):
            piece = member.read(min(CHUNK_BYTES, expected - start))
            if len(piece) != min(CHUNK_BYTES, expected - start):
                raise WeightFormatError(path, f"member {name} ends {expected - start - len(piece)} bytes early")
            data[start:start + len(piece)] = piece
            digest.update(piece)
    if fortran or not dtype.isnative:
        array = numpy.array(array, dtype=dtype.newbyteorder("="), order="C")
    return array, digest.hexdigest()


def _parse_manifest(path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WeightFormatError(path, f"{MANIFEST} is not valid JSON ({exc})") from None
    arrays = manifest.get("arrays") if isinstance(manifest, dict) else None
    if not (isinstance(arrays, list) and all(isinstance(a, dict) and isinstance(a.get("name"), str) for a in arrays)):
        raise WeightFormatError(path, f"{MANIFEST} has no valid 'arrays' list")
    return manifest


def read_npz(path, metadata_members=()) -> tuple:
    """Read every member of a numeric ``.npz`` under one byte budget for the whole file.

    Returns ``(arrays, hashes, texts)``: ordered ``name -> array`` and ``name -> sha256`` of the
    ``.npy`` members, and ``name -> bytes`` of the ``metadata_members`` (at most
    limits.MAX_METADATA_BYTES each). Any other member, a size lie, a non-numeric dtype or a
    malformed header raises :class:`WeightFormatError` naming the file; nothing is unpickled.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        try:
            with zipfile.ZipFile(file) as archive:
                return _read_members(path, archive, metadata_members)
        except WeightFormatError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, KeyError, TypeError,
                IndexError, MemoryError, OverflowError, SyntaxError, RecursionError, tokenize.TokenError) as exc:
            raise WeightFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None


def _read_members(path, archive: zipfile.ZipFile, metadata_members):
    arrays, hashes, texts, budget = OrderedDict(), {}, {}, ByteBudget(path)
    for info in archive.infolist():
        if info.filename in metadata_members:
            budget.spend_member(info, MAX_METADATA_BYTES)
            texts[info.filename] = archive.read(info)
        elif info.filename.endswith(".npy"):
            name = info.filename[: -len(".npy")]
            if name in arrays:
                raise WeightFormatError(path, f"member {info.filename!r} appears twice")
            arrays[name], hashes[name] = _read_npy(path, archive, info, budget)
        else:
            raise WeightFormatError(path, f"unexpected member {info.filename!r} (an .npz holds only .npy members)")
    return arrays, hashes, texts


def load(path) -> WeightDict:
    """Read a minitl ``.npz`` (or any plain numeric ``.npz``) into a :class:`WeightDict`.

    With a manifest, the arrays come in manifest order and each sha256 is verified; ``meta`` is the
    manifest. Object arrays, pickles and size lies raise :class:`WeightFormatError`.
    """
    path = os.fspath(path)
    arrays, hashes, texts = read_npz(path, (MANIFEST,))
    manifest = _parse_manifest(path, texts[MANIFEST]) if MANIFEST in texts else {}
    order = list(arrays)
    if manifest:
        order = [entry["name"] for entry in manifest["arrays"]]
        missing = [name for name in order if name not in arrays]
        extra = [name for name in arrays if name not in set(order)]
        if missing or extra:
            raise WeightFormatError(path, f"manifest and arrays disagree: listed but absent {missing[:5]}, "
                                          f"present but unlisted {extra[:5]}")
        for entry in manifest["arrays"]:
            if entry.get("sha256") not in (None, hashes[entry["name"]]):
                raise WeightFormatError(path, f"array {entry['name']!r} fails its sha256 check: the file is corrupt "
                                              "or was edited; re-download or re-save it")
    return WeightDict(((name, arrays[name]) for name in order), format="minitl", path=path, meta=manifest)
