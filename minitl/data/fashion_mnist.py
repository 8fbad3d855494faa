"""Fashion-MNIST: 70,000 grey 28x28 pictures of clothes in 10 classes (Zalando, MIT licence).

Where the files come from, in the order they are searched (the first folder holding all four
standard files wins; each file may be gzipped, ``.gz``, or unpacked). A ``root`` you pass is the
only place looked at: a folder that lacks the files is an error, never a silent read of another.

    1. ``root``                              the folder you pass (then nothing else)
    2. ``$MINITL_DATA/fashion-mnist``, then ``$MINITL_DATA``
    3. ``~/.cache/minitl/fashion-mnist``     where ``download=True`` puts them
    4. ``/usr/share/datasets/fashion-mnist`` Debian's ``dataset-fashion-mnist`` package

With ``download=True`` and nothing found, the files are fetched from the official mirror (or
``$MINITL_FASHION_MNIST_MIRROR`` / ``mirror=``), MD5-checked and written atomically into ``root``,
else ``$MINITL_DATA/fashion-mnist``, else the cache folder. ``subset="mini"`` needs no files at
all: a class-balanced sample ships inside the package (``bundled/``, built by
``scripts/build_fashion_mnist_mini.py``).

Images are kept as uint8 ``(N, 1, 28, 28)`` and scaled to float32 [0, 1] per batch (see
``dataset.py``).
"""
import os
import warnings
from importlib import resources
from pathlib import Path

import numpy

from .dataset import ArrayDataset
from .errors import DatasetError, DatasetNotFoundError, DownloadError
from .idx import read_idx

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# split -> (images file, labels file), without the ".gz"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 of the gzipped files as published in zalandoresearch/fashion-mnist's README.
# (Debian recompresses them, so its .gz files have other MD5s; their contents are the same.)
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
OFFICIAL_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
MIRROR_ENV = "MINITL_FASHION_MNIST_MIRROR"
DATA_ENV = "MINITL_DATA"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
BUNDLED_FILE = "fashion_mnist_mini.npz"
SUBSETS = ("mini", "auto")


class FashionMNIST(ArrayDataset):
    """The Fashion-MNIST training (``train=True``, 60,000 images) or test set (10,000).

    ``subset``: ``None`` for the full set (searched for, see the module docstring), ``"mini"`` for
    the bundled sample (1,000 training / 300 test images per class), ``"auto"`` for the full set if
    it is on disk and the bundled sample otherwise (with a warning saying so).
    ``transform``: applied to whole batches (see ``transforms.py``).
    ``.images`` uint8 ``(N, 1, 28, 28)``, ``.labels`` int64 ``(N,)``, ``.classes`` the 10 names,
    ``.folder`` where the files were read (None for the bundled sample).
    """

    def __init__(self, root=None, train: bool = True, download: bool = False, subset=None,
                 transform=None, mirror: str | None = None, progress: bool = True):
        split = "train" if train else "test"
        if subset not in (None,) + SUBSETS:
            raise DatasetError(f"FashionMNIST: subset must be None (full set), 'mini' or 'auto', "
                               f"got {subset!r}.")
        folder = None
        if subset != "mini":
            folder = find_fashion_mnist(root)
        if folder is None and subset is None and download:
            folder = download_fashion_mnist(_download_folder(root), mirror=mirror, progress=progress)
        if folder is None and subset is None:
            raise DatasetNotFoundError(_not_found_message(root))
        if folder is None:
            if subset == "auto":
                warnings.warn("FashionMNIST(subset='auto'): the full set was not found "
                              f"({_not_found_message(root, short=True)}); using the bundled "
                              "sample (1,000 training / 300 test images per class).", stacklevel=2)
            images, labels = load_bundled(split)
            name = f"fashion-mnist-mini/{split}"
        else:
            images, labels = read_split(folder, split)
            name = f"fashion-mnist/{split}"
        super().__init__(images, labels, FASHION_MNIST_CLASSES, transform=transform, name=name)
        self.folder = folder
        self.train = train


def fashion_mnist_mini(train: bool = True, transform=None) -> FashionMNIST:
    """Shorthand for ``FashionMNIST(train=train, subset="mini")``: the bundled, class-balanced
    sample that works on a fresh machine with no download."""
    return FashionMNIST(train=train, subset="mini", transform=transform)


def search_folders(root=None) -> list:
    """The folders ``FashionMNIST`` looks in, in order (see the module docstring)."""
    if root is not None:
        return [Path(root).expanduser()]
    folders = []
    data_root = os.environ.get(DATA_ENV)
    if data_root:
        folders += [Path(data_root).expanduser() / "fashion-mnist", Path(data_root).expanduser()]
    folders.append(Path.home() / ".cache" / "minitl" / "fashion-mnist")
    folders.append(Path(DEBIAN_DIR))
    return list(dict.fromkeys(folders))  # drop repeats, keep the order


def find_fashion_mnist(root=None):
    """The first search folder holding all four standard files (gzipped or not), or None."""
    for folder in search_folders(root):
        stems = [stem for pair in FILES.values() for stem in pair]
        if all(existing_file(folder, stem) is not None for stem in stems):
            return folder
    return None


def download_fashion_mnist(folder, mirror: str | None = None, progress: bool = True) -> Path:
    """Download the four ``.gz`` files that ``folder`` lacks from ``mirror`` (default: the official
    one, or ``$MINITL_FASHION_MNIST_MIRROR``), checking each against its published MD5.

    Returns ``folder``. On failure raises ``DatasetNotFoundError`` explaining the other ways to get
    the data; the cause (``DownloadError`` / ``ChecksumError``) is chained as ``__cause__``.
    """
    from .download import download_file  # noqa: PLC0415 - keeps `import minitl` fast (urllib: ssl, http, email)

    folder = Path(folder).expanduser()
    base = (mirror or os.environ.get(MIRROR_ENV) or OFFICIAL_MIRROR).rstrip("/") + "/"
    for filename, md5 in PUBLISHED_MD5.items():
        if existing_file(folder, filename[:-3]) is not None:
            continue
        try:
            download_file(base + filename, folder / filename, md5=md5, progress=progress)
        except DownloadError as error:
            raise DatasetNotFoundError(
                f"FashionMNIST: downloading {filename} into {folder} failed: {error}\n"
                + _not_found_message(folder, tried_download=True)) from error
    return folder


def load_bundled(split: str = "train", file: str = BUNDLED_FILE):
    """``(images uint8 (N, 28, 28), labels uint8 (N,))`` of the bundled sample's ``split``
    (``file``: which sample in ``bundled/``; ``mnist.py`` reads its own with this too)."""
    source = resources.files("minitl.data").joinpath("bundled").joinpath(file)
    try:
        with resources.as_file(source) as path, numpy.load(path) as archive:
            return archive[f"{split}_images"], archive[f"{split}_labels"]
    except FileNotFoundError as error:
        raise DatasetNotFoundError(
            f"the bundled sample minitl/data/bundled/{file} is missing from this install; reinstall minitl, "
            "or rebuild it (scripts/build_fashion_mnist_mini.py, scripts/build_mnist_mini.py).") from error


def read_split(folder, split: str):
    """``(images uint8 (N, 28, 28), labels uint8 (N,))`` from the IDX files of ``split`` in ``folder``
    (MNIST and Fashion-MNIST name them alike); a clear error if the two files do not belong together."""
    images_file, labels_file = (existing_file(folder, stem) for stem in FILES[split])
    images = read_idx(images_file, expect_ndim=3)
    labels = read_idx(labels_file, expect_ndim=1)
    if len(images) != len(labels):
        raise DatasetError(f"{folder}: {len(images)} images but {len(labels)} labels; one of "
                           "the files is from another data set. Replace both.")
    return images, labels


def existing_file(folder, stem: str):
    """``folder/stem.gz`` or ``folder/stem`` if either is a file (the gzipped one first), else None.
    Used by ``scripts/build_fashion_mnist_mini.py`` to read the same files ``FashionMNIST`` reads."""
    for candidate in (Path(folder) / (stem + ".gz"), Path(folder) / stem):
        if candidate.is_file():
            return candidate
    return None


def _download_folder(root) -> Path:
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser() / "fashion-mnist"
    return Path.home() / ".cache" / "minitl" / "fashion-mnist"


def _not_found_message(root, short: bool = False, tried_download: bool = False) -> str:
    searched = ", ".join(str(folder) for folder in search_folders(root))
    if short:
        return f"searched {searched}"
    files = ", ".join(PUBLISHED_MD5)
    lines = [
        "Fashion-MNIST was not found." if not tried_download else "Other ways to get Fashion-MNIST:",
        f"Searched, in order: {searched} (each needs the four files {files}, gzipped or not).",
        "Three ways to get the data:",
        "  1. On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
        f"(installs them into {DEBIAN_DIR}).",
        "  2. Download them: FashionMNIST(download=True) (about 30 MB, into ~/.cache/minitl/"
        "fashion-mnist, or root= / $MINITL_DATA/fashion-mnist).",
        "  3. Copy the four files from https://github.com/zalandoresearch/fashion-mnist into a "
        "folder and pass root=that folder or set MINITL_DATA.",
        "Or use the small sample shipped with minitl: FashionMNIST(subset='mini').",
    ]
    return "\n".join(lines)
