"""Splits for transfer learning: which classes, how many images, which ones held out.

The teaching set-up: a *source* task, Fashion-MNIST classes 0-4, on which a network
is pretrained, and a *target* task, classes 5-9 relabelled 0-4, with only a few labelled images per
class. Three operations build every such split from any data set with ``labels`` and ``classes``:

    class_subset(ds, classes)        keep some classes; renumber them 0..k-1 (names kept)
    few_shot(ds, n_per_class, seed)  exactly n images of every class, drawn at random
                                     (the drawing itself: ``few_shot_indices``, which the script
                                     that builds the bundled sample uses too)
    train_val_split(ds, fraction)    hold out a (stratified) validation part

and ``fashion_split("A")`` / ``fashion_split("B")`` name the two teaching tasks; ``define_split`` adds
more. All randomness is seeded (``seed=`` or ``minitl.manual_seed``), and chosen indices are
returned in data-set order, so a split is a pure function of the data and the seed.

Normalise with the *source* statistics on both tasks:
``Normalize.from_dataset(fashion_split("A"))``, stored beside the pretrained weights.
"""
import math

import numpy

from ..core.random import resolve_rng
from .errors import DatasetError
from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST

# name -> Fashion-MNIST labels in the split's new label order; insertion order is kept.
FASHION_SPLITS = {
    "A": (0, 1, 2, 3, 4),  # T-shirt/top, Trouser, Pullover, Dress, Coat  (source task)
    "B": (5, 6, 7, 8, 9),  # Sandal, Shirt, Sneaker, Bag, Ankle boot      (target task)
    "paired-source": (0, 1, 2, 5, 7),  # T-shirt/top, Trouser, Pullover, Sandal, Sneaker
    "paired-target": (3, 4, 6, 8, 9),  # Dress, Coat, Shirt, Bag, Ankle boot: each near a source class
}
# A source task and its target task, by one name: the shipped weights (weights/smallcnn-fashion-<name>.npz)
# were pretrained on the source split; ``minitl compare`` fine-tunes on the target split.
TRANSFER_PAIRS = {
    "default": ("A", "B"),
    "paired": ("paired-source", "paired-target"),
}


def class_subset(dataset, classes, relabel: bool = True):
    """Only the images whose class is in ``classes`` (label numbers or class names).

    ``relabel=True``: the kept classes become labels ``0..k-1`` in the order given, and
    ``.classes`` lists their names in that order (a student should notice that label 0 of split B
    is "Sandal", not "T-shirt/top"). ``relabel=False``: labels and ``.classes`` are kept as they were.
    """
    wanted = [_class_number(dataset, item) for item in classes]
    if len(set(wanted)) != len(wanted):
        raise DatasetError(f"class_subset: classes {list(classes)} name a class twice.")
    if not wanted:
        raise DatasetError("class_subset: give at least one class.")
    keep = numpy.flatnonzero(numpy.isin(dataset.labels, wanted))
    if not relabel:
        return dataset.subset(keep)
    new_label = numpy.full(len(dataset.classes), -1, dtype=numpy.int64)
    new_label[wanted] = numpy.arange(len(wanted))
    return dataset.subset(keep, labels=new_label[dataset.labels[keep]],
                          classes=[dataset.classes[number] for number in wanted])


def few_shot(dataset, n_per_class: int, seed=None):
    """Exactly ``n_per_class`` images of every class present in ``dataset``, drawn without
    replacement (stratified). Raises ``DatasetError`` naming any class with fewer images."""
    chosen = few_shot_indices(dataset.labels, n_per_class, resolve_rng(seed), dataset.classes)
    return dataset.subset(chosen)


def few_shot_indices(labels, n_per_class: int, rng, classes=None) -> numpy.ndarray:
    """Sorted int64 indices of ``n_per_class`` images of every label present in ``labels`` ``(N,)``.

    Per label, in increasing label order, one ``rng.choice(..., replace=False)`` draw: so the same
    generator state gives the same images, whoever calls it. ``classes`` (names, optional) make
    the error message readable. Raises ``DatasetError`` naming every class that has too few.
    """
    n_per_class = int(n_per_class)
    if n_per_class < 1:
        raise DatasetError(f"few_shot: n_per_class must be at least 1, got {n_per_class}.")
    labels = numpy.asarray(labels)
    present = numpy.unique(labels)
    counts = numpy.bincount(labels, minlength=int(labels.max()) + 1 if labels.size else 0)
    name = (lambda c: repr(classes[c])) if classes is not None else (lambda c: f"label {c}")
    short = [f"{name(c)} has {counts[c]}" for c in present if counts[c] < n_per_class]
    if short:
        raise DatasetError(f"few_shot: asked for {n_per_class} images per class, but "
                           f"{'; '.join(short)}. Ask for fewer, or add images to those classes.")
    chosen = [rng.choice(numpy.flatnonzero(labels == c), size=n_per_class, replace=False)
              for c in present]
    return numpy.sort(numpy.concatenate(chosen)) if chosen else numpy.zeros(0, numpy.int64)


def train_val_split(dataset, fraction: float, seed=None, stratified: bool = True):
    """``(train, val)``: ``fraction`` of the images go to ``val``.

    ``stratified=True`` holds out that fraction *of every class*, so both parts keep the class
    balance, which matters when each class has only a handful of images. Each count is rounded
    half up (``val_count``), and a class with 2 or more images always keeps at least one in each
    part, so a small class never vanishes from training or from validation.
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"train_val_split: fraction is the validation share and must be between "
                           f"0 and 1, got {fraction}.")
    rng = resolve_rng(seed)
    labels = dataset.labels
    groups = ([numpy.flatnonzero(labels == c) for c in numpy.unique(labels)] if stratified
              else [numpy.arange(len(labels))])
    val = [members[:val_count(len(members), fraction)]
           for members in (rng.permutation(group) for group in groups)]
    in_val = numpy.zeros(len(labels), dtype=bool)
    in_val[numpy.concatenate(val) if val else numpy.zeros(0, numpy.int64)] = True
    if in_val.all() or not in_val.any():
        part = "training" if in_val.all() else "validation"
        if stratified and max(len(group) for group in groups) < 2:
            raise DatasetError(
                f"train_val_split: every class of {dataset.name} has only one image, so no class "
                f"can be in both parts and the {part} part is empty. Pass stratified=False, or add "
                "images (2 or more per class).")
        raise DatasetError(f"train_val_split: fraction {fraction} of {len(labels)} images leaves the "
                           f"{part} part empty; add images, or use a fraction nearer 0.5.")
    return dataset.subset(numpy.flatnonzero(~in_val)), dataset.subset(numpy.flatnonzero(in_val))


def val_count(size: int, fraction: float) -> int:
    """How many of ``size`` images go to validation: ``floor(size * fraction + 0.5)`` (half up, not
    Python's ``round``, which sends 2.5 to 2 and 3.5 to 4), kept within ``1..size-1`` when
    ``size >= 2`` so both parts get at least one."""
    count = math.floor(size * fraction + 0.5)
    return min(max(count, 1), size - 1) if size >= 2 else count


def define_split(name: str, classes) -> None:
    """Name a new Fashion-MNIST task: ``define_split("shoes", [5, 7, 9])`` (labels or names), then
    ``fashion_split("shoes")``. Redefining a name replaces it."""

    numbers = []
    for item in classes:
        if isinstance(item, str):
            if item not in FASHION_MNIST_CLASSES:
                raise DatasetError(f"define_split: {item!r} is not a Fashion-MNIST class; choose "
                                   f"from {list(FASHION_MNIST_CLASSES)}.")
            item = FASHION_MNIST_CLASSES.index(item)
        if not 0 <= int(item) < len(FASHION_MNIST_CLASSES):
            raise DatasetError(f"define_split: class number {item} is not in 0..9.")
        numbers.append(int(item))
    if not numbers or len(set(numbers)) != len(numbers):
        raise DatasetError(f"define_split: {name!r} needs one or more distinct classes, got {classes}.")
    FASHION_SPLITS[str(name)] = tuple(numbers)


def fashion_split(name: str, train: bool = True, subset=None, root=None, download: bool = False,
                  transform=None):
    """Fashion-MNIST restricted to the named split's classes, relabelled ``0..k-1``.

    ``subset``, ``root``, ``download``, ``transform`` are passed to ``FashionMNIST``
    (``subset="mini"`` uses the bundled sample). Example: ``fashion_split("B", subset="mini")`` has
    classes ``["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]`` and labels 0..4.
    """

    if name not in FASHION_SPLITS:
        raise DatasetError(f"fashion_split: no split named {name!r}; known: {list(FASHION_SPLITS)}. "
                           "Add one with define_split(name, classes).")
    full = FashionMNIST(root=root, train=train, download=download, subset=subset,
                        transform=transform)
    part = class_subset(full, FASHION_SPLITS[name])
    part.name = f"{full.name}/split-{name}"
    return part


def _class_number(dataset, item) -> int:
    if isinstance(item, str):
        if item not in dataset.classes:
            raise DatasetError(f"{dataset.name}: no class named {item!r}; classes are "
                               f"{list(dataset.classes)}.")
        return list(dataset.classes).index(item)
    number = int(item)
    if not 0 <= number < len(dataset.classes):
        raise DatasetError(f"{dataset.name}: class number {number} is out of range "
                           f"0..{len(dataset.classes) - 1}.")
    return number
