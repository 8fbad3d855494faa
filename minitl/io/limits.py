"""Caps on the sizes a weight file may claim, checked before anything is allocated.

Every number in a weight file -- a zip member's uncompressed size, a tensor's shape, how many
tensors view one storage -- is a claim by whoever wrote the file, and a few hundred bytes can
claim terabytes (a "bomb"). Readers ask this module before they allocate. The caps are generous
for real models (weights compress by 1.1x, not 1000x; the largest single files are tens of GiB)
and small enough that a hostile file cannot exhaust memory.

The central object is :class:`ByteBudget`: ONE per file. Every array a reader allocates (a zip
member, a rebuilt tensor, an HDF5 dataset, a checkpoint entry) is paid from it, and the allowance
grows only with the bytes the file really stores. The slack for small files is granted once per
file, not once per member: 64 members of 16 MiB of zeros in a 1 MB file are refused after the first.

Used by native.py, torch_pickle.py, keras_h5.py, safetensors.py, train/checkpoint.py and the IDX and
image readers in ``minitl.data``; raises errors.py's types.
"""
import zipfile

from .errors import WeightFormatError

MAX_TOTAL_BYTES = 64 << 30      # all the arrays one file may produce
MAX_COMPRESSION_RATIO = 100     # deflate reaches ~1030x only on constant data: real weights stay near 1x
SLACK_BYTES = 16 << 20          # once per file: below this a file may claim anything (odd ratios of tiny files)
MAX_COPIES = 5                  # the file's data may be held 5x over: a storage and 4 tensors viewing it (w, w.t())
MAX_NDIM = 64                   # NumPy's own limit on dimensions; checked before anything multiplies a shape
MAX_METADATA_BYTES = 64 << 20   # JSON/pickle text that describes the arrays (manifest, header, data.pkl)
MAX_OBJECTS = 1 << 20           # Python objects one metadata text may create (pickle opcodes, tensor entries)
MAX_TENSORS = 1 << 16           # entries in one safetensors header (real shards hold a few thousand)
MAX_HEADER_BYTES = 16 << 20     # one safetensors JSON header (real ones are kilobytes; parsing costs ~20x)
MAX_IMAGE_PIXELS = 50_000_000   # one decoded picture (an 8K photo is 33 MP); Pillow only warns at 89 MP
ZIP_ENCRYPTED_FLAG = 0x1        # bit 0 of a zip member's general-purpose flags


def is_count(value) -> bool:
    """A non-negative ``int``. Notice: ``bool`` is a subclass of ``int``, so ``True`` must not pass as 1."""
    return type(value) is int and value >= 0


def shape_fits(shape, itemsize: int) -> bool:
    """True if NumPy can describe an array of ``shape`` (tuple of counts), even an empty one.

    Notice: a 0 in the shape makes the array empty but does not make ``(0, 10**30)`` describable:
    NumPy still needs each dimension and the product of the non-zero ones, in bytes, below 2**63.
    The length is checked first and the product stops as soon as it passes 2**63, so a shape of a
    million entries is refused in microseconds instead of being multiplied out.
    """
    if len(shape) > MAX_NDIM:
        return False
    product = max(itemsize, 1)
    for dim in shape:
        if not is_count(dim):
            return False
        product *= dim or 1
        if product >= 2 ** 63:
            return False
    return True


class ByteBudget:
    """The bytes one file may still make a reader allocate.

    Two kinds of spending: the file's own data (a zip member, an HDF5 dataset: ``spend(n, what,
    stored=bytes on disk)``) and copies made from it (a tensor rebuilt from a storage: ``spend(n,
    what)``). Everything spent together may reach
    ``slack + min(MAX_COMPRESSION_RATIO * stored, MAX_COPIES * data)`` (and never ``limit``), where
    ``data`` is the file's own data spent so far. Notice: the slack is granted once per file.
    """

    def __init__(self, path, limit=MAX_TOTAL_BYTES, slack=SLACK_BYTES):
        self.path, self.limit, self.slack = path, limit, slack
        self.spent = self.stored = self.data = 0

    @property
    def allowance(self) -> int:
        return min(self.limit, self.slack + min(MAX_COMPRESSION_RATIO * self.stored, MAX_COPIES * self.data))

    def spend(self, nbytes: int, what: str, stored=None) -> None:
        if stored is not None:
            self.stored += max(stored, 0)
            self.data += nbytes
        self.spent += nbytes
        if self.spent > self.allowance:
            raise WeightFormatError(self.path, f"{what} brings the arrays read from this file to {self.spent} "
                                               f"bytes, over this file's cap of {self.allowance} (at most "
                                               f"{MAX_COMPRESSION_RATIO}x the {self.stored} bytes it stores "
                                               f"and {MAX_COPIES}x its data, plus {self.slack} once): refused, "
                                               "a 'zip bomb' or 'shape bomb' "
                                               "(a file that claims far more data than it stores)")

    def spend_member(self, info: zipfile.ZipInfo, limit=None) -> int:
        """Pay for inflating one zip member (declared size, backed by its compressed size); return its size.

        ``zipfile`` never inflates past ``info.file_size``, so paying that number first bounds memory.
        ``limit`` caps this one member too (a manifest or a pickle is never gigabytes). A member
        flagged encrypted is refused here, before ``zipfile`` raises its own ``RuntimeError`` on it.
        """
        if info.flag_bits & ZIP_ENCRYPTED_FLAG:
            raise WeightFormatError(self.path, f"member {info.filename} is encrypted; minitl reads only plain "
                                               "archives (as numpy.savez, torch.save and Keras write them)")
        if limit is not None and info.file_size > limit:
            raise WeightFormatError(self.path, f"member {info.filename} would inflate {info.compress_size} bytes "
                                               f"to {info.file_size}, over the {limit}-byte limit for it: a "
                                               "'zip bomb' or a corrupt archive")
        self.spend(info.file_size, f"member {info.filename}", stored=info.compress_size)
        return info.file_size
