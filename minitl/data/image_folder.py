"""ImageFolder: your own pictures as a data set, one sub-folder per class.

    my_photos/
        sandal/   a.jpg  b.png ...
        sneaker/  c.jpg ...

``ImageFolder("my_photos", grayscale=True, size=28)`` gives classes ``["sandal", "sneaker"]``
(folder names, sorted, so labels do not depend on the order the disk lists them) and images as
float32 ``(1, 28, 28)`` in [0, 1]: the same form as Fashion-MNIST, so the same demos run on them.

Every file with an image extension Pillow knows is opened when the data set is built, and Pillow
checks it. A file that fails is never dropped silently: ``on_error="raise"`` (default) stops with
every bad file named; ``on_error="skip"`` leaves them out with one warning naming them, and keeps
the list in ``.skipped``. Images are decoded when asked for (``dataset[i]`` / ``get_batch``), so a
folder of large photos does not fill memory; ``to_array_dataset()`` decodes all of them once.

Talks to: ``dataset.py`` (``Dataset``, ``ArrayDataset``), ``transforms.py``, Pillow.
"""
import os
import warnings
from pathlib import Path

import numpy

from .dataset import ArrayDataset, Dataset
from .errors import ImageFolderError

# Pillow modes without colour ("P" is not here: a palette can hold colours).
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class ImageFolder(Dataset):
    """Images under ``root/<class name>/``, labelled by their sub-folder.

    ``grayscale``: True -> 1 channel (Pillow's ``convert("L")``); False -> 3 channels (RGB);
    None -> 1 channel if every image is single-channel, else 3. ``size``: int or ``(height, width)``
    to resize every image to (Pillow bilinear); None keeps each image's own size (then a batch needs
    images of equal size). ``transform``: called on each float32 ``(C, H, W)`` image.
    ``on_error``: ``"raise"`` or ``"skip"`` for files Pillow cannot read.
    Attributes: ``classes``, ``labels`` int64 ``(N,)``, ``files`` (paths, label order), ``skipped``.
    """

    def __init__(self, root, transform=None, grayscale=None, size=None, on_error: str = "raise"):
        from PIL import Image

        from .transforms import _pair

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
        extensions = {ext.lower() for ext in Image.registered_extensions()}
        files, labels, modes, self.skipped = [], [], [], []
        for label, name in enumerate(self.classes):
            for path in sorted((self.root / name).rglob("*")):
                if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in extensions:
                    continue
                try:
                    with Image.open(path) as image:
                        mode = image.mode
                        image.verify()  # checks the file's structure (PNG: every chunk's CRC)
                except Exception as error:  # Pillow raises many kinds; each is reported below
                    self.skipped.append((str(path), f"{type(error).__name__}: {error}"))
                    continue
                files.append(str(path))
                labels.append(label)
                modes.append(mode)
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
        from PIL import Image

        path = self.files[index]
        try:
            with Image.open(path) as image:
                image = image.convert("L" if self.grayscale else "RGB")
                if self.size is not None:
                    height, width = self.size
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
                array = numpy.asarray(image, dtype=numpy.uint8)
        except Exception as error:
            raise ImageFolderError(
                f"ImageFolder: {path} passed the check when the data set was built but cannot be "
                f"decoded now ({type(error).__name__}: {error}); remove or re-save it.") from error
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # HWC -> CHW
        return array.astype(numpy.float32) * numpy.float32(1 / 255)

    def to_array_dataset(self) -> ArrayDataset:
        """Decode every image once into an in-memory ``ArrayDataset`` (needs ``size`` or images of
        one size). The transform is kept and from then on runs on whole batches."""
        images = [self.load(index) for index in range(len(self))]
        shapes = sorted({image.shape for image in images})
        if len(shapes) > 1:
            raise ImageFolderError(f"ImageFolder: images under {self.root} have different shapes "
                                   f"{shapes[:4]}; build it with size=(height, width).")
        pixels = numpy.rint(numpy.stack(images) * 255).astype(numpy.uint8)  # uint8: 4x less memory
        return ArrayDataset(pixels, self.labels, self.classes, transform=self.transform,
                            name=self.name)

    def __repr__(self) -> str:
        channels = 1 if self.grayscale else 3
        size = "own size" if self.size is None else f"{channels}x{self.size[0]}x{self.size[1]}"
        return (f"ImageFolder({os.fspath(self.root)!r}, {len(self)} images, {size}, "
                f"{len(self.classes)} classes: {', '.join(self.classes)})")
