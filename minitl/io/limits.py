"""Caps on the sizes a weight file may claim, checked before anything is allocated.

Every number in a weight file -- a zip member's uncompressed size, a tensor's shape, how many
tensors view one storage -- is a claim by whoever wrote the file, and a few hundred bytes can
claim terabytes (a "bomb"). Readers ask this module before they allocate. The caps are generous
for real models (weights compress by 1.1x, not 1000x; the largest single files are tens of GiB)
and small enough that a hostile file cannot exhaust memory.

Used by native.py, torch_pickle.py, keras_h5.py and safetensors.py; raises errors.py's types.
"""
import math
import zipfile

from .errors import WeightFormatError

MAX_TOTAL_BYTES = 64 << 30      # all the arrays one file may produce
MAX_COMPRESSION_RATIO = 100     # deflate reaches ~1030x only on constant data: real weights stay near 1x
SLACK_BYTES = 16 << 20          # below this a file may claim anything: small files legitimately have odd ratios


def is_count(value) -> bool:
    """A non-negative ``int``. Notice: ``bool`` is a subclass of ``int``, so ``True`` must not pass as 1."""
    return type(value) is int and value >= 0


def shape_fits(shape, itemsize: int) -> bool:
    """True if NumPy can describe an array of ``shape`` (tuple of counts), even an empty one.

    Notice: a 0 in the shape makes the array empty but does not make ``(0, 10**30)`` describable:
    NumPy still needs each dimension and the product of the non-zero ones, in bytes, below 2**63.
    """
    return all(map(is_count, shape)) and math.prod(d for d in shape if d) * max(itemsize, 1) < 2 ** 63


def check_zip_member(path, info: zipfile.ZipInfo, limit=MAX_TOTAL_BYTES) -> int:
    """Refuse a zip member whose declared size is over ``limit`` or implausibly compressed; return its size.

    ``zipfile`` never inflates past ``info.file_size``, so checking that number first bounds memory.
    """
    if info.file_size > limit or info.file_size > MAX_COMPRESSION_RATIO * info.compress_size + SLACK_BYTES:
        raise WeightFormatError(path, f"member {info.filename} would inflate {info.compress_size} bytes to "
                                      f"{info.file_size} (limit {limit} bytes, at most {MAX_COMPRESSION_RATIO}x "
                                      "beyond the first 16 MiB): a 'zip bomb' or a corrupt archive")
    return info.file_size


class ByteBudget:
    """The bytes one file may still make a reader allocate; :meth:`spend` refuses past ``limit``."""

    def __init__(self, path, limit=MAX_TOTAL_BYTES):
        self.path, self.limit, self.spent = path, limit, 0

    def spend(self, nbytes: int, what: str) -> None:
        self.spent += nbytes
        if self.spent > self.limit:
            raise WeightFormatError(self.path, f"{what} brings the arrays read from this file to {self.spent} "
                                               f"bytes, over this file's cap of {self.limit}: refused (a file "
                                               "that claims far more data than it stores)")
