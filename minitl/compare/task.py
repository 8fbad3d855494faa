"""The data of one comparison: a pretrained source model and a target task to transfer it to.

    task = load_task("paired")                 bundled Fashion-MNIST subset, shipped weights
    task = load_task("paired", full=True)      the full Fashion-MNIST (60,000 / 10,000 images)
    task = load_task("paired", data="photos/") an ImageFolder of one's own as the target task
    task = load_task(source=(5, 6, 7, 8, 9), target=(0, 1, 2, 3, 4))   any other split: pretrains
                                               the source model first (full set) and caches it
    task = load_task(source="fashion", target="digits")   across data sets (``minitl.data.DOMAINS``):
                                               the shipped weights of the source (for fashion:
                                               those of ``split``), every class of the target
    task = load_task("paired", target_permute=0.5)   the target's pixels half shuffled (the dial)

A ``Task`` holds the target training images (the grid draws n per class from them), the full
target test set, the source test set and some source training images (to measure forgetting and
to re-estimate BatchNorm), the weights name and folder, and the input normalisation, which is the
*source* set's (the pretrained weights expect inputs on that scale).
"""
import dataclasses
import hashlib
from pathlib import Path

from .. import weights as registry
from ..data.domains import DOMAINS, load_domain
from ..data.fashion_mnist import FASHION_MNIST_CLASSES
from ..data.geometry_transforms import PermutePixels
from ..data.image_folder import ImageFolder
from ..data.splits import TRANSFER_PAIRS, define_split, fashion_split, train_val_split
from ..data.transforms import Compose, Normalize
from ..models.smallcnn import SmallCNN
from ..transfer.pretrain import pretrain, weights_name

CACHE = Path.home() / ".cache" / "minitl"
CALIBRATION_IMAGES = 500  # source training images for BatchNorm re-estimation (two batches of 250)
PERMUTE_SEED = 0  # --target-permute: one fixed permutation, so every run and every seed sees the same task


class TaskError(ValueError):
    """The data or weights a comparison needs are missing or do not fit (the message says what to do)."""


@dataclasses.dataclass
class Task:
    split: str
    weights: str                 # a name in the weights registry
    where: object                # its folder (None: the shipped weights/)
    target_train: object
    target_test: object
    source_test: object
    source_calibration: object
    normalization: dict
    description: str
    target_permute: float = None  # PermutePixels' fraction on the target images (None: unchanged)

    @property
    def classes(self):
        return list(self.target_train.classes)

    def pretrained_model(self):
        """SmallCNN with the pretrained backbone and a fresh head for the target classes."""
        model = SmallCNN(num_classes=len(self.classes))
        model.load_report = registry.load_named(model, self.weights, self.where)
        return model

    def source_model(self):
        """The pretrained network exactly as trained, source head included (for forgetting)."""
        return registry.source_model(self.weights, self.where)

    def as_dict(self) -> dict:
        return {"split": self.split, "weights": self.weights, "description": self.description,
                "target_classes": self.classes, "target_train_images": len(self.target_train),
                "target_test_images": len(self.target_test), "source_test_images": len(self.source_test),
                "normalization": self.normalization, "target_permute": self.target_permute}


def _normalize(record):
    stats = record.get("normalization") or {}
    if "mean" not in stats or "std" not in stats:
        raise TaskError(f"weights {record['name']!r}: the manifest entry has no normalization mean/std; "
                        "re-run `minitl pretrain`")
    return Normalize(stats["mean"], stats["std"])


def _entry(name, where):
    try:
        return registry.entry(name, where)
    except KeyError as error:
        raise TaskError(f"compare: {error.args[0]}. The shipped weights live in weights/ of the checkout "
                        "(or $MINITL_WEIGHTS); `minitl pretrain --split paired` makes them") from error


def custom_split(source, target):
    """Register the pair ``source -> target`` (Fashion-MNIST labels) and return its name."""
    source, target = tuple(int(c) for c in source), tuple(int(c) for c in target)
    if set(source) & set(target):
        raise TaskError(f"compare: --source {source} and --target {target} share classes; a transfer task "
                        "needs disjoint classes")
    for classes in (source, target):
        if len(set(classes)) != len(classes) or not all(0 <= c < len(FASHION_MNIST_CLASSES) for c in classes):
            raise TaskError(f"compare: classes {classes} must be distinct Fashion-MNIST labels 0..9")
    name = "custom-" + "".join(map(str, source)) + "-" + "".join(map(str, target))
    define_split(f"{name}-source", source)
    define_split(f"{name}-target", target)
    TRANSFER_PAIRS[name] = (f"{name}-source", f"{name}-target")
    return name


def cached_pretrained(split, root=None, verbose=True):
    """The weights folder for ``split`` under ``~/.cache/minitl`` (pretrained there once, same recipe)."""
    key = hashlib.sha256(repr(TRANSFER_PAIRS[split]).encode()).hexdigest()[:12]
    where = CACHE / f"weights-{split}-{key}"
    try:
        registry.entry(weights_name(split), where)
    except KeyError:
        pretrain(split, root=root, where=where, verbose=verbose)  # the full set: needs it on disk
    return where


def load_task(split="paired", full=False, data=None, source=None, target=None, root=None, verbose=True,
              target_permute=None):
    """The ``Task`` for ``minitl compare`` (see the module docstring)."""
    task = _load_task(split, full, data, source, target, root, verbose)
    if target_permute is not None:
        permute = PermutePixels(target_permute, seed=PERMUTE_SEED)  # checks 0 <= p <= 1
        for part in (task.target_train, task.target_test):
            part.transform = Compose([permute, part.transform])
        task.target_permute = permute.fraction
        task.description += (f"; target pixels permuted: fraction {permute.fraction:g} of the positions "
                             f"(seed {PERMUTE_SEED}, the same for every image)")
    return task


def _load_task(split, full, data, source, target, root, verbose):
    where = None
    if isinstance(source, str) or isinstance(target, str):
        return domain_task(source, target, split, full, data, root)
    if source is not None or target is not None:
        if source is None or target is None:
            raise TaskError("compare: give both --source and --target (class numbers 0..9)")
        split = custom_split(source, target)
        where = cached_pretrained(split, root=root, verbose=verbose)
        full = True
    if split not in TRANSFER_PAIRS:
        raise TaskError(f"compare: no split named {split!r}; known: {', '.join(sorted(TRANSFER_PAIRS))}")
    name = weights_name(split)
    record = _entry(name, where)
    normalize = _normalize(record)
    source_name, target_name = TRANSFER_PAIRS[split]
    subset = None if full else "mini"
    source_train = fashion_split(source_name, train=True, subset=subset, root=root, transform=normalize)
    source_test = fashion_split(source_name, train=False, subset=subset, root=root, transform=normalize)
    calibration = _calibration(source_train)
    if data is not None:
        target_train, target_test = _image_folder_task(data, normalize)
        description = f"your images in {data} (target) from weights {name!r}"
    else:
        target_train = fashion_split(target_name, train=True, subset=subset, root=root, transform=normalize)
        target_test = fashion_split(target_name, train=False, subset=subset, root=root, transform=normalize)
        description = (f"Fashion-MNIST {'full set' if full else 'bundled subset'}, split {split!r}: "
                       f"{', '.join(source_train.classes)} -> {', '.join(target_train.classes)}")
    return Task(split, name, where, target_train, target_test, source_test, calibration, normalize.as_dict(),
                description)


def domain_task(source, target, split="paired", full=False, data=None, root=None):
    """Transfer across data sets: ``source`` and ``target`` are names in ``minitl.data.DOMAINS``.

    The source model is the shipped one (``digits``; for ``fashion``, the weights of ``split``); the
    target task is every class of the other data set, normalised with the source's statistics.
    """
    if not (isinstance(source, str) and isinstance(target, str)):
        raise TaskError(f"compare: --source {source} --target {target}: give two data set names "
                        f"({', '.join(DOMAINS)}) or two lists of Fashion-MNIST classes, not one of each")
    for name in (source, target):
        if name not in DOMAINS:
            raise TaskError(f"compare: no data set named {name!r}; known: {', '.join(DOMAINS)}")
    if source == target:
        raise TaskError(f"compare: --source and --target are both {source!r}; transfer across data sets needs "
                        "two (within Fashion-MNIST, give class lists: --source 5,6,7,8,9 --target 0,1,2,3,4)")
    if data is not None:
        raise TaskError("compare: --data is a target of its own; give it with --split, not with --target")
    name = weights_name(split if source == "fashion" else source)
    record = _entry(name, None)
    normalize = _normalize(record)
    subset = None if full else "mini"
    if source == "fashion":
        source_train, source_test = (fashion_split(TRANSFER_PAIRS[split][0], train=train, subset=subset, root=root,
                                                   transform=normalize) for train in (True, False))
    else:
        source_train, source_test = (load_domain(source, train=train, subset=subset, root=root, transform=normalize)
                                     for train in (True, False))
    target_train, target_test = (load_domain(target, train=train, subset=subset, root=root, transform=normalize)
                                 for train in (True, False))
    description = (f"{DOMAINS[source][1]} -> {DOMAINS[target][1]}, {'full sets' if full else 'bundled subsets'}: "
                   f"weights {name!r} ({', '.join(source_train.classes)}) -> all {len(target_train.classes)} "
                   f"classes of {target}")
    return Task(f"{source}->{target}", name, None, target_train, target_test, source_test,
                _calibration(source_train), normalize.as_dict(), description)


def _calibration(source_train):
    """Every k-th source training image, about ``CALIBRATION_IMAGES`` of them (BatchNorm re-estimation)."""
    return source_train.subset(range(0, len(source_train), max(1, len(source_train) // CALIBRATION_IMAGES)))


def _image_folder_task(data, normalize):
    """``DIR/train`` + ``DIR/test`` if both exist, else ``DIR`` split 70/30 per class; grey 28x28."""
    folder = Path(data).expanduser()
    parts = [folder / "train", folder / "test"]

    def read(path):
        return ImageFolder(path, grayscale=True, size=28).to_array_dataset()

    if all(part.is_dir() for part in parts):
        train, test = (read(part) for part in parts)
    else:
        train, test = train_val_split(read(folder), 0.3, seed=0)
    for part in (train, test):
        part.transform = normalize
    return train, test
