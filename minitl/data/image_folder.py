"""ImageFolder: your own pictures as a data set, one sub-folder per class.

    my_photos/
        sandal/   a.jpg  b.png ...
        sneaker/  c.jpg ...

``ImageFolder("my_photos", grayscale=True, size=28)`` gives classes ``["sandal", "sneaker"]``
(folder names, sorted, so labels do not depend on the order the disk lists them) and images as
float32 ``(1, 28, 28)`` in [0, 1]: the same form as Fashion-MNIST, so the same models and training code run on them.

Every file with the extension of a raster format (``RASTER_FORMATS``: PNG, JPEG, BMP, GIF, TIFF,
WebP, PPM) is decoded once when the data set is built (a
structure check alone would pass a JPEG cut short). A file that fails is never dropped silently:
``on_error="raise"`` (default) stops with every bad file named; ``on_error="skip"`` leaves them out
with one warning naming them, and keeps the list in ``.skipped``. Files with other extensions are
named in one warning. Hidden files and folders (``.DS_Store``, ``.thumbs/``) are left out quietly.
Photos are turned upright by their EXIF orientation tag, as a phone's gallery shows them.

Folders come from anyone, so: Pillow is told which formats it may use (a PostScript file named
``cat.png`` would otherwise go to the EPS plugin, which runs Ghostscript), a picture's declared size
is checked against ``minitl.io.limits.MAX_IMAGE_PIXELS`` before a pixel is decoded, and class
folders are walked with a list of folders still to visit, not recursion (a folder 1,100 levels deep
is fine).

Images are decoded again when asked for (``dataset[i]`` / ``get_batch``), so a folder of large
photos does not fill memory; ``to_array_dataset()`` decodes all of them once into uint8.
"""
import os
import warnings
from pathlib import Path

import numpy
from PIL import Image, ImageOps

from ..io.limits import MAX_IMAGE_PIXELS
from .dataset import ArrayDataset, Dataset, check_one_shape
from .errors import ImageFolderError
from .pixels import GRAY_MODES, pil_to_chw, to_unit_float
from .transforms import _pair

RASTER_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")  # Pillow's names; nothing that runs a program


def _files_under(folder: Path) -> list:
    """Every non-hidden file below ``folder`` (hidden folders skipped whole), sorted, without recursion."""
    found, pending = [], [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue  # hidden files and everything in hidden folders (.thumbs/, .AppleDouble/)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file():
                    found.append(Path(entry.path))
    return sorted(found)


def _open(path):
    """Open ``path`` with a raster plugin only, refusing a picture over MAX_IMAGE_PIXELS before decoding."""
    image = Image.open(path, formats=RASTER_FORMATS)
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ValueError(f"the picture declares {width}x{height} pixels, over the limit of {MAX_IMAGE_PIXELS}; "
                         "resize it first")
    return image


class ImageFolder(Dataset):
    """Images under ``root/<class name>/``, labelled by their sub-folder.

    ``grayscale``: True -> 1 channel (Pillow's ``convert("L")``); False -> 3 channels (RGB);
    None -> 1 channel if every image is single-channel, else 3 (see ``pixels.pil_to_chw``).
    ``size``: int or ``(height, width)`` to resize every image to (Pillow bilinear); None keeps each
    image's own size (then a batch needs images of equal size).
    ``transform``: called on each float32 ``(C, H, W)`` image.
    ``on_error``: ``"raise"`` or ``"skip"`` for files Pillow cannot read.
    Attributes: ``classes``, ``labels`` int64 ``(N,)``, ``files`` (paths, label order), ``skipped``.
    """

    def __init__(self, root, transform=None, grayscale=None, size=None, on_error: str = "raise"):
        if on_error not in ("raise", "skip"):
            raise ImageFolderError(f"ImageFolder: on_error must be 'raise' or 'skip', got {on_error!r}.")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ImageFolderError(f"ImageFolder: {self.root} is not a folder. Give a folder with one "
                                   "sub-folder per class.")
        self.classes = sorted(entry.name for entry in self.root.iterdir()
                              if entry.is_dir() and not entry.name.startswith("."))
        if not self.classes:
            raise ImageFolderError(f"ImageFolder: {self.root} has no sub-folders; put each class's "
                                   "images in a sub-folder named after the class.")
        extensions = {ext.lower() for ext, kind in Image.registered_extensions().items() if kind in RASTER_FORMATS}
        files, labels, modes, unknown, self.skipped = [], [], [], [], []
        for label, name in enumerate(self.classes):
            folder = self.root / name
            for path in _files_under(folder):
                if path.suffix.lower() not in extensions:
                    unknown.append(str(path))
                    continue
                try:
                    with _open(path) as image:
                        image.verify()  # checks the file's structure (PNG: every chunk's CRC) ...
                    mode = _decode(path, channels=None).mode  # ... and only decoding finds a cut JPEG
                except Exception as error:  # Pillow raises many kinds; each is reported below
                    self.skipped.append((str(path), f"{type(error).__name__}: {error}"))
                    continue
                files.append(str(path))
                labels.append(label)
                modes.append(mode)
        if unknown:
            warnings.warn(f"ImageFolder: leaving out {len(unknown)} file(s) under {self.root} whose "
                          "extension Pillow does not read as an image:\n  " + "\n  ".join(unknown)
                          + "\nMove them out of the class folders (or convert them) to silence this.",
                          stacklevel=2)
        if self.skipped:
            listing = "\n".join(f"  {path}  ({reason})" for path, reason in self.skipped)
            if on_error == "raise":
                raise ImageFolderError(
                    f"ImageFolder: {len(self.skipped)} file(s) under {self.root} cannot be read as "
                    f"images:\n{listing}\nRemove or re-save them, or pass on_error='skip' to leave "
                    "them out.")
            warnings.warn(f"ImageFolder: skipping {len(self.skipped)} unreadable file(s) under "
                          f"{self.root}:\n{listing}", stacklevel=2)
        if not files:
            raise ImageFolderError(
                f"ImageFolder: no readable images under {self.root} (looked in "
                f"{', '.join(self.classes)}); supported extensions include .png .jpg .jpeg .bmp .gif.")
        empty = [name for label, name in enumerate(self.classes) if label not in set(labels)]
        if empty:
            warnings.warn(f"ImageFolder: class folder(s) {empty} under {self.root} hold no images; "
                          "their labels exist but no image has them.", stacklevel=2)
        self.files = files
        self.labels = numpy.asarray(labels, dtype=numpy.int64)
        if grayscale is None:
            grayscale = all(mode in GRAY_MODES for mode in modes)
        self.grayscale = bool(grayscale)
        self.size = None if size is None else _pair(size, "ImageFolder size")
        self.transform = transform
        self.name = str(self.root)

    def load(self, index: int) -> numpy.ndarray:
        """Decode file ``index``: float32 ``(C, H, W)`` in [0, 1], before the transform."""
        return to_unit_float(self.load_pixels(index), self.files[index])

    def load_pixels(self, index: int) -> numpy.ndarray:
        """Decode file ``index`` as stored: uint8 ``(C, H, W)`` (float32 for 32-bit float files)."""
        path = self.files[index]
        try:
            return _decode(path, channels=1 if self.grayscale else 3, size=self.size).pixels
        except Exception as error:
            raise ImageFolderError(
                f"ImageFolder: {path} passed the check when the data set was built but cannot be "
                f"decoded now ({type(error).__name__}: {error}); remove or re-save it.") from error

    def to_array_dataset(self) -> ArrayDataset:
        """Decode every image once into an in-memory ``ArrayDataset`` (needs ``size`` or images of
        one size). The transform is kept and from then on runs on whole batches.

        Pixels go straight into one preallocated uint8 array ``(N, C, H, W)``, so the peak memory
        is that array plus one image, not a float copy of the whole folder.
        """
        first = self.load_pixels(0)
        pixels = numpy.empty((len(self),) + first.shape, dtype=first.dtype)
        pixels[0] = first
        for index in range(1, len(self)):
            image = self.load_pixels(index)
            check_one_shape([first.shape, image.shape], self.name)
            if image.dtype != pixels.dtype:
                raise ImageFolderError(f"ImageFolder: {self.files[index]} is {image.dtype} but "
                                       f"{self.files[0]} is {first.dtype}; save them all as 8-bit.")
            pixels[index] = image
        return ArrayDataset(pixels, self.labels, self.classes, transform=self.transform,
                            name=self.name)

    def __repr__(self) -> str:
        channels = 1 if self.grayscale else 3
        size = "own size" if self.size is None else f"{channels}x{self.size[0]}x{self.size[1]}"
        return (f"ImageFolder({os.fspath(self.root)!r}, {len(self)} images, {size}, "
                f"{len(self.classes)} classes: {', '.join(self.classes)})")


class _Decoded:
    """What ``_decode`` found: the file's Pillow ``mode`` and its ``pixels`` ``(C, H, W)``."""

    def __init__(self, mode: str, pixels: numpy.ndarray):
        self.mode, self.pixels = mode, pixels


def _decode(path, channels, size=None) -> _Decoded:
    """Open, turn upright by the EXIF orientation tag, and decode every pixel of ``path``."""
    with _open(path) as image:
        mode = image.mode
        upright = ImageOps.exif_transpose(image)  # decodes the whole image; a cut file fails here
        return _Decoded(mode, pil_to_chw(upright, channels, size, name=str(path)))
