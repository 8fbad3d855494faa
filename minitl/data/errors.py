"""The data package's own exceptions.

Each one subclasses the built-in exception a caller would already catch (``ValueError``,
``FileNotFoundError``, ``OSError``), so ``except ValueError`` keeps working, while the name tells a
student which part of ``minitl.data`` complained. Messages name the file or folder involved and say
what to do next.
"""


class IdxFormatError(ValueError):
    """An IDX file (the format of MNIST and Fashion-MNIST) is truncated, has a wrong magic number or a
    size that does not match its header. Raised by ``minitl.data.idx.read_idx``."""


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are in none of the places searched, and downloading was off or failed.
    The message lists every place searched and every way to get the data."""


class DownloadError(OSError):
    """A download failed: no connection, an HTTP error, or a connection dropped mid-file. Nothing is
    left behind at the destination."""


class ChecksumError(DownloadError):
    """A downloaded file's checksum differs from the published one. The file is deleted."""


class ImageFolderError(ValueError):
    """An image folder has no images, or holds files Pillow cannot read (each one named)."""


class DatasetError(ValueError):
    """A data set or split was asked for something it cannot give: an unknown class, too few images
    in a class for ``few_shot``, images of different shapes in one batch, ..."""
