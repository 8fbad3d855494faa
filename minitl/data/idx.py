"""The IDX file format: how MNIST and Fashion-MNIST store their images and labels.

An IDX file is a tiny header followed by raw numbers, all big-endian::

    bytes 0-1   0x00 0x00                 (always zero)
    byte  2     type code                 0x08 = uint8, 0x09 = int8, 0x0B = int16,
                                          0x0C = int32, 0x0D = float32, 0x0E = float64
    byte  3     number of dimensions n    (3 for images: count, rows, columns; 1 for labels)
    n x 4 bytes each dimension's size     (big-endian unsigned 32-bit)
    the rest    the numbers, row-major    (product of the sizes, times the type's width)

So the first four bytes, read as one big-endian integer, are the "magic number": 2051 (0x00000803)
for an image file and 2049 (0x00000801) for a label file. A student should notice that there is
no compression and no image codec: the file *is* the array, which is why reading it is a single
``numpy.frombuffer`` call. The published files are gzipped; ``read_idx`` accepts both forms and
tells them apart by the gzip signature, not by the file name.
"""
import gzip
import io
import math
import os
import zlib

import numpy

from ..io.errors import WeightFormatError
from ..io.limits import ByteBudget
from .errors import IdxFormatError

# type code -> big-endian dtype as stored in the file
IDX_DTYPES = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_GZIP_SIGNATURE = b"\x1f\x8b"


def parse_idx(raw: bytes, name: str = "<bytes>", expect_ndim: int | None = None) -> numpy.ndarray:
    """Turn the bytes of an (uncompressed) IDX file into a native-endian array of the stored shape.

    ``raw``: the whole file. ``name``: used in error messages. ``expect_ndim``: if given, the
    header's dimension count must equal it (3 for image files, 1 for label files).
    Returns e.g. ``uint8 (60000, 28, 28)`` for Fashion-MNIST's training images.
    """
    if len(raw) < 4:
        raise IdxFormatError(
            f"{name}: only {len(raw)} bytes, too short for an IDX header (4 bytes of magic number "
            "at least). The file is truncated or empty: delete it and download it again.")
    if raw[0] != 0 or raw[1] != 0:
        raise IdxFormatError(
            f"{name}: magic number starts with bytes {raw[0]:#04x} {raw[1]:#04x}, but every IDX file "
            "starts with 0x00 0x00. This is not an IDX file (an HTML error page saved by a download, "
            "or a different format?).")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"{code:#04x}" for code in IDX_DTYPES)
        raise IdxFormatError(
            f"{name}: unknown IDX type code {type_code:#04x} in the magic number "
            f"(known: {known}). The file is damaged or not an IDX file.")
    if expect_ndim is not None and ndim != expect_ndim:
        raise IdxFormatError(
            f"{name}: the header says {ndim} dimension(s) but {expect_ndim} were expected "
            f"(magic number {int.from_bytes(raw[:4], 'big')}; images use 2051, labels 2049). "
            "Were the image and label files swapped?")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IdxFormatError(
            f"{name}: truncated inside the header ({len(raw)} bytes, the header alone needs "
            f"{header_size}). Delete the file and get it again.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_DTYPES[type_code]
    # math.prod on Python ints: a hostile header such as (2**31, 2**31, 4) must not wrap around
    # to a small number the way numpy.prod in int64 would.
    expected = header_size + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise IdxFormatError(
            f"{name}: file is {what}: the header promises shape {shape} of {dtype.name} "
            f"({expected} bytes in all) but the file has {len(raw)} bytes. "
            "Delete it and download it again.")
    stored = numpy.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies into a writable, native-endian array (frombuffer's view is read-only).
    return stored.astype(dtype.newbyteorder("="))


def read_idx(path, expect_ndim: int | None = None) -> numpy.ndarray:
    """Read an IDX file, gzipped or raw, into a numpy array (see ``parse_idx`` for shapes).

    Notice that the gzip layer is detected from the file's first two bytes (0x1f 0x8b), so a file
    that was unpacked but kept its ``.gz`` name still reads.
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == _GZIP_SIGNATURE:
        try:
            raw = _inflate(path, raw)
        except (EOFError, OSError, zlib.error) as error:
            raise IdxFormatError(
                f"{path}: the gzip stream is damaged or truncated ({error}). "
                "Delete the file and download it again.") from error
    return parse_idx(raw, name=path, expect_ndim=expect_ndim)


def _inflate(path, compressed: bytes) -> bytes:
    """Un-gzip an IDX file, never inflating more than its header declares (plus one byte to see extra).

    Notice: 1 MB of gzipped zeros inflates to 1 GB, so the header is inflated first, the size it
    declares is checked against the file's byte budget (``minitl.io.limits``: at most 100x the
    compressed size beyond a fixed slack), and only that many bytes are inflated.
    """
    with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
        head = stream.read(4)
        dims = stream.read(4 * head[3]) if len(head) == 4 else b""
        declared = math.prod(int.from_bytes(dims[i:i + 4], "big") for i in range(0, len(dims) - 3, 4))
        itemsize = IDX_DTYPES[head[2]].itemsize if len(head) == 4 and head[2] in IDX_DTYPES else 1
        try:
            ByteBudget(path).spend(declared * itemsize, "the IDX header's shape", stored=len(compressed))
        except WeightFormatError as error:
            raise IdxFormatError(f"{path}: {error.problem}. Delete the file and download it again.") from None
        return head + dims + stream.read(declared * itemsize + 1)


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzipped when ``compress`` is true, or by default when the
    name ends in ``.gz``). The inverse of ``read_idx``; used to make small test files by hand."""
    array = numpy.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise IdxFormatError(
            f"{path}: IDX cannot store dtype {array.dtype}; convert to one of "
            f"{sorted(str(d) for d in codes)} first.")
    header = bytes([0, 0, codes[native], array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    raw = header + array.astype(IDX_DTYPES[codes[native]]).tobytes()
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        raw = gzip.compress(raw, mtime=0)  # mtime=0: same array, same bytes
    with open(path, "wb") as handle:
        handle.write(raw)
