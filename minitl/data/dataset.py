"""What a data set is in minitl: labelled images you can index one at a time or a batch at a time.

Every data set has
    ``classes``            the class names, in label order (``classes[3]`` names label 3)
    ``labels``             int64 array ``(N,)``, every image's label, readable without loading images
    ``len(dataset)``       N
    ``dataset[i]``         ``(image, label)``: float32 ``(C, H, W)`` in [0, 1] (after ``transform``), int
    ``get_batch(indices)`` ``(images, labels)``: float32 ``(B, C, H, W)`` and int64 ``(B,)``
    ``subset(indices, labels=None, classes=None)``  a smaller data set (used by ``splits.py``)

``ArrayDataset`` keeps all images in one array (Fashion-MNIST: uint8 ``(N, 1, 28, 28)``, 47 MB for the
training set) and answers ``get_batch`` with one fancy-indexing call, so a ``DataLoader`` never runs a
Python loop per image. The thing to notice: pixels stay uint8 in memory (4x smaller) and are scaled
to float32 [0, 1] one batch at a time, just before the batch's ``transform`` runs on the whole batch.

``Dataset`` is the base for data sets that load image by image (``ImageFolder``); its ``get_batch``
loops over ``__getitem__`` and stacks. ``Subset`` is a view on such a data set with a ``transform``
of its own, so a validation part can drop the augmentation its training part keeps.
"""
import numpy

from .errors import DatasetError
from .pixels import as_uint8_pixels, to_unit_float


class Dataset:
    """Base class: subclasses set ``classes``, ``labels`` and ``transform``, and define ``load(i)``
    returning one float32 ``(C, H, W)`` image in [0, 1] before the transform."""

    classes: list
    labels: numpy.ndarray
    transform = None
    name = "dataset"

    def load(self, index: int) -> numpy.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define load(index) -> (C, H, W) float32")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        """``(image float32 (C, H, W), label int)``; the transform sees a single image."""
        index = _check_index(index, len(self), self.name)
        image = self.load(index)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    def get_batch(self, indices):
        """``(images float32 (B, C, H, W), labels int64 (B,))``, one image at a time, then stacked."""
        indices = _check_indices(indices, len(self), self.name)
        images = [self[int(i)][0] for i in indices]
        check_one_shape([image.shape for image in images], self.name)
        stacked = numpy.stack(images) if images else numpy.zeros((0, 1, 1, 1), numpy.float32)
        return stacked.astype(numpy.float32, copy=False), self.labels[indices]

    def subset(self, indices, labels=None, classes=None) -> "Dataset":
        """The images at ``indices`` (optionally with new ``labels`` and ``classes``) as a view."""
        return Subset(self, indices, labels, classes)

    def class_counts(self) -> dict:
        """``{class name: number of images}`` in class order; handy to check a split's balance."""
        counts = numpy.bincount(self.labels, minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} images, {len(self.classes)} classes)"


class ArrayDataset(Dataset):
    """Images and labels held in memory as two arrays.

    ``images``: ``(N, H, W)`` or ``(N, C, H, W)``, uint8 (0..255) or floating (already in [0, 1]);
    stored as ``(N, C, H, W)`` uint8 or float32. ``labels``: integers ``(N,)`` in ``0..len(classes)-1``.
    ``transform``: called on a whole float32 batch ``(B, C, H, W)`` (see ``transforms.py``; every
    minitl array transform accepts one image or a batch).
    """

    def __init__(self, images, labels, classes=None, transform=None, name="arrays"):
        images = numpy.asarray(images)
        labels = numpy.asarray(labels)
        if images.ndim == 3:
            images = images[:, None, :, :]  # (N, H, W) -> (N, 1, H, W): one channel
        if images.ndim != 4:
            raise DatasetError(
                f"{name}: images must be (N, H, W) or (N, C, H, W), got shape {images.shape}.")
        if images.dtype.kind in "iu":
            images = as_uint8_pixels(images, name)  # 0..255 pixels in a wider integer type
        if images.dtype != numpy.uint8:
            if images.dtype.kind != "f":
                raise DatasetError(f"{name}: images must be uint8 or floating, got {images.dtype}.")
            images = images.astype(numpy.float32, copy=False)
        if labels.ndim != 1 or len(labels) != len(images) or (labels.size and labels.dtype.kind not in "iu"):
            raise DatasetError(
                f"{name}: labels must be integers of shape ({len(images)},), one per image; "
                f"got {labels.dtype} {labels.shape}.")
        labels = labels.astype(numpy.int64, copy=False)
        if classes is None:
            classes = [str(k) for k in range(int(labels.max()) + 1 if labels.size else 0)]
        classes = list(classes)
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DatasetError(
                f"{name}: labels run from {labels.min()} to {labels.max()} but there are "
                f"{len(classes)} class names; give one name per label 0..{labels.max()}.")
        self.images = images
        self.labels = labels
        self.classes = classes
        self.transform = transform
        self.name = name

    @property
    def image_shape(self) -> tuple:
        """``(C, H, W)`` of one image as stored (before the transform)."""
        return tuple(self.images.shape[1:])

    def load(self, index: int) -> numpy.ndarray:
        return to_unit_float(self.images[index], self.name)

    def __getitem__(self, index):
        """``(image float32 (C, H, W), label int)``: a batch of one, so the transform sees what it
        would see in a batch."""
        index = _check_index(index, len(self), self.name)
        images, labels = self.get_batch(numpy.array([index]))
        return images[0], int(labels[0])

    def get_batch(self, indices):
        """``(images float32 (B, C, H, W) in [0, 1] then transformed, labels int64 (B,))``.
        One fancy-indexing call, one scaling, one transform call for the whole batch."""
        indices = _check_indices(indices, len(self), self.name)
        images = to_unit_float(self.images[indices], self.name)
        if self.transform is not None:
            images = self.transform(images)
        return images, self.labels[indices]

    def subset(self, indices, labels=None, classes=None) -> "ArrayDataset":
        """A new ``ArrayDataset`` with the images at ``indices`` (copied: a subset owns its arrays)."""
        indices = _check_indices(indices, len(self), self.name)
        return ArrayDataset(self.images[indices],
                            self.labels[indices] if labels is None else labels,
                            self.classes if classes is None else classes,
                            transform=self.transform, name=self.name)

    def __repr__(self) -> str:
        shape = "x".join(str(size) for size in self.image_shape)
        return (f"{type(self).__name__}({self.name!r}, {len(self)} images {shape} {self.images.dtype}, "
                f"{len(self.classes)} classes)")


class Subset(Dataset):
    """A view on ``parent``: the images at ``indices``, optionally relabelled (``labels``, ``classes``).

    Loading goes through the parent (``parent.load``, before the parent's transform), so nothing is
    copied. ``transform`` starts as the parent's and is the subset's own: after
    ``train, val = train_val_split(folder, 0.2)``, ``val.transform = None`` turns augmentation off
    for ``val`` only.
    """

    def __init__(self, parent: Dataset, indices, labels=None, classes=None):
        self.parent = parent
        self.indices = _check_indices(indices, len(parent), parent.name)
        self.labels = (parent.labels[self.indices] if labels is None
                       else numpy.asarray(labels, dtype=numpy.int64))
        if len(self.labels) != len(self.indices):
            raise DatasetError(
                f"{parent.name}: subset got {len(self.indices)} indices but {len(self.labels)} labels.")
        self.classes = list(parent.classes if classes is None else classes)
        self.name = parent.name
        self.transform = parent.transform

    def load(self, index: int) -> numpy.ndarray:
        return self.parent.load(int(self.indices[index]))


def check_one_shape(shapes, name: str) -> None:
    """Raise ``DatasetError`` unless every image shape in ``shapes`` is the same: a batch is one array."""
    shapes = sorted(set(shapes))
    if len(shapes) > 1:
        raise DatasetError(
            f"{name}: images in one batch have different shapes {shapes[:4]}; a batch must be "
            "one array. Give the data set a fixed size (ImageFolder(..., size=(H, W))) or add "
            "Resize to its transform.")


def _check_index(index, length: int, name: str) -> int:
    if not isinstance(index, (int, numpy.integer)):
        raise DatasetError(f"{name}: index must be an integer, got {type(index).__name__}; "
                           "use get_batch(indices) for many at once.")
    index = int(index)
    if not -length <= index < length:
        raise DatasetError(f"{name}: index {index} out of range for {length} images.")
    return index % length


def _check_indices(indices, length: int, name: str) -> numpy.ndarray:
    indices = numpy.asarray(indices)
    if indices.dtype == bool:
        indices = numpy.flatnonzero(indices)
    if indices.size == 0:
        return numpy.zeros(0, dtype=numpy.int64)
    if indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise DatasetError(f"{name}: indices must be a 1-D integer array, got {indices.dtype} "
                           f"{indices.shape}.")
    if indices.min() < -length or indices.max() >= length:
        raise DatasetError(f"{name}: indices run from {indices.min()} to {indices.max()}, "
                           f"out of range for {length} images.")
    return indices.astype(numpy.int64, copy=False) % max(length, 1)
