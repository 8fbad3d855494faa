"""Write a state_dict as a PyTorch ``.pt`` file, without PyTorch: the way out of minitl.

The file is what ``torch.save(state_dict, path)`` writes (see torch_pickle.py for the layout), and
what ``torch.load(path, weights_only=True)`` accepts: a ZIP of ``archive/data.pkl``, one raw record
``archive/data/<k>`` per tensor, and the small text records torch looks for. Python's ``pickle``
cannot help here: it would have to import ``torch`` to name ``torch._utils._rebuild_tensor_v2``. So
the pickle is assembled by hand from a dozen protocol-2 opcodes, which is also the clearest way to
see what a ``.pt`` file really contains::

    GLOBAL collections.OrderedDict  EMPTY_TUPLE  REDUCE         -> an empty OrderedDict
    MARK
      'conv.weight'                                             -> key
      GLOBAL torch._utils._rebuild_tensor_v2                    -> value = that function, called on
      MARK  PERSID(('storage', torch.FloatStorage, '0', 'cpu', 24))   the storage in data/0,
            0  (2, 3, 2, 2)  (12, 4, 2, 1)  False  OrderedDict()      offset, size, stride, ...
      TUPLE REDUCE
    SETITEMS STOP
"""
import struct
import zipfile

import numpy

from ..atomic import atomic_write
from .errors import WeightFormatError
from .state import as_state_dict

STORAGE_OF_DTYPE = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "int64": "LongStorage",
    "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage",
}
ALIGNMENT = 64
ARCHIVE_NAME = "archive"


class _PickleWriter:
    """Just enough of a protocol-2 pickler for a flat OrderedDict of tensors."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")  # PROTO 2

    def global_(self, module: str, name: str):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def mark(self):
        self.out += b"("

    def tuple_(self):
        self.out += b"t"  # TUPLE: everything since the last MARK

    def empty_tuple(self):
        self.out += b")"

    def reduce(self):
        self.out += b"R"  # call the callable below the top with the tuple on top

    def setitems(self):
        self.out += b"u"

    def persid(self):
        self.out += b"Q"  # BINPERSID: the object on top is a reference the loader resolves itself

    def false(self):
        self.out += b"\x89"

    def string(self, text: str):
        data = text.encode("utf-8")
        self.out += b"X" + struct.pack("<I", len(data)) + data  # BINUNICODE

    def integer(self, value: int):
        if 0 <= value < 256:
            self.out += b"K" + struct.pack("<B", value)           # BININT1
        elif 0 <= value < 65536:
            self.out += b"M" + struct.pack("<H", value)           # BININT2
        elif -2**31 <= value < 2**31:
            self.out += b"J" + struct.pack("<i", value)           # BININT
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + struct.pack("<B", len(data)) + data  # LONG1

    def int_tuple(self, values):
        if not values:
            self.empty_tuple()
            return
        self.mark()
        for v in values:
            self.integer(int(v))
        self.tuple_()

    def empty_ordered_dict(self):
        self.global_("collections", "OrderedDict")
        self.empty_tuple()
        self.reduce()

    def stop(self) -> bytes:
        return bytes(self.out + b".")


def _tensor(writer: _PickleWriter, storage_class: str, key: str, array: numpy.ndarray):
    """Emit ``_rebuild_tensor_v2(storage, 0, shape, contiguous strides, False, OrderedDict())``."""
    writer.global_("torch._utils", "_rebuild_tensor_v2")
    writer.mark()
    writer.mark()
    writer.string("storage")
    writer.global_("torch", storage_class)
    writer.string(key)
    writer.string("cpu")
    writer.integer(array.size)
    writer.tuple_()
    writer.persid()
    writer.integer(0)
    writer.int_tuple(array.shape)
    writer.int_tuple([s // array.itemsize for s in array.strides] if array.size else [1] * array.ndim)
    writer.false()
    writer.empty_ordered_dict()
    writer.tuple_()
    writer.reduce()


def build_pickle(state) -> "tuple[bytes, list[numpy.ndarray]]":
    """The data.pkl bytes for ``state`` (name -> C-contiguous array) and the storages in key order."""
    writer = _PickleWriter()
    writer.empty_ordered_dict()
    writer.mark()
    storages = []
    for name, array in state.items():
        writer.string(name)
        _tensor(writer, STORAGE_OF_DTYPE[array.dtype.name], str(len(storages)), array)
        storages.append(array)
    writer.setitems()
    return writer.stop(), storages


def _write_aligned(archive: zipfile.ZipFile, file, name: str, data: bytes):
    """Add a STORED record whose data starts at a multiple of ALIGNMENT, padding the header's extra field."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed date: identical input, identical file
    info.compress_type = zipfile.ZIP_STORED
    zip64_extra = 20 if len(data) * 1.05 > zipfile.ZIP64_LIMIT else 0  # zipfile adds this itself
    data_start = file.tell() + 30 + len(name.encode()) + 4 + zip64_extra
    padding = -data_start % ALIGNMENT
    info.extra = b"FB" + struct.pack("<H", padding) + b"\0" * padding
    archive.writestr(info, data)


def save_torch(obj, path) -> None:
    """Write a model or state_dict as a ``.pt`` file that ``torch.load(path, weights_only=True)`` reads.

    Arrays are copied to C order and little-endian; every key becomes one storage. Include
    BatchNorm's ``num_batches_tracked`` (minitl models do) so that torch's strict load accepts it.
    """
    state = {}
    for name, array in as_state_dict(obj).items():
        if array.dtype.name not in STORAGE_OF_DTYPE:
            raise WeightFormatError(path, f"array {name!r} has dtype {array.dtype}, which has no PyTorch storage "
                                          f"class; cast it to one of {', '.join(STORAGE_OF_DTYPE)} before saving")
        # asarray, not ascontiguousarray: the latter turns 0-d arrays (num_batches_tracked) into 1-d.
        state[name] = numpy.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
    data_pkl, storages = build_pickle(state)
    prefix = ARCHIVE_NAME + "/"
    with atomic_write(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        _write_aligned(archive, file, prefix + "data.pkl", data_pkl)
        _write_aligned(archive, file, prefix + ".format_version", b"1")
        _write_aligned(archive, file, prefix + ".storage_alignment", str(ALIGNMENT).encode())
        _write_aligned(archive, file, prefix + "byteorder", b"little")
        for key, array in enumerate(storages):
            _write_aligned(archive, file, f"{prefix}data/{key}", array.tobytes())
        _write_aligned(archive, file, prefix + "version", b"3\n")
