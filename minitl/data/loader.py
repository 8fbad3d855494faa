"""DataLoader: walk a data set in batches of Tensors, in a reproducible order.

    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, device="cuda")
    for images, labels in loader:      # images float32 (B, C, H, W), labels int64 (B,): Tensors
        ...

Each epoch (each ``for`` over the loader) draws a fresh permutation of ``0..N-1`` from one random
generator: the loader's own ``numpy.random.default_rng(seed)`` when ``seed`` is given, otherwise
the global one (``minitl.manual_seed``). So epochs differ from each other, but two runs with the
same seed see exactly the same batches. The loader then asks the data set for each batch with one
``dataset.get_batch(indices)`` call: for an in-memory ``ArrayDataset`` that is one fancy-indexing
operation, not a Python loop over images. The thing to notice: the loader never touches single
images; the data set decides how to fetch a batch.
"""
import math

import numpy

from ..core.backend import default_device, normalize_device
from ..core.random import resolve_rng
from ..core.tensor import Tensor
from .errors import DatasetError
from .pinned import PinnedUploader


class DataLoader:
    """Batches of ``(images, labels)`` Tensors from ``dataset``.

    ``batch_size``: images per batch. ``shuffle``: a new random order every epoch (else 0..N-1).
    ``drop_last``: skip the last, smaller batch. ``seed``: the loader's own shuffle generator
    (None: the global one). ``device``: ``"cpu"`` or ``"cuda"`` (None: ``minitl``'s default device);
    each batch is moved there once, as a whole (on the GPU through pinned host memory, asynchronously:
    ``data/pinned.py``).
    """

    def __init__(self, dataset, batch_size: int = 64, shuffle: bool = False, drop_last: bool = False,
                 seed=None, device=None):
        if not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise DatasetError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}.")
        if not hasattr(dataset, "get_batch"):
            raise DatasetError(
                f"DataLoader: {type(dataset).__name__} has no get_batch(indices); wrap arrays in "
                "minitl.data.ArrayDataset(images, labels, classes).")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.device = device
        # Public like PyTorch's ``DataLoader.generator``: checkpoints save and restore its state.
        self.generator = None if seed is None else numpy.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        count = len(self.dataset)
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)

    def batch_indices(self):
        """The index arrays of one epoch's batches (draws the epoch's order, like ``iter``)."""
        count = len(self.dataset)
        if self.shuffle:
            rng = resolve_rng(self.generator)
            order = rng.permutation(count)
        else:
            order = numpy.arange(count)
        return [order[start:start + self.batch_size]
                for start in range(0, len(self) * self.batch_size, self.batch_size)]

    def __iter__(self):
        device = normalize_device(self.device if self.device is not None else default_device())
        # On the GPU each batch array crosses once, through a pinned buffer, asynchronously.
        move = PinnedUploader() if device == "cuda" else None
        for indices in self.batch_indices():
            images, labels = self.dataset.get_batch(indices)
            images, labels = numpy.asarray(images, numpy.float32), numpy.asarray(labels, numpy.int64)
            if move is not None:
                images, labels = move(images), move(labels)
            # The batch arrays are fresh, so the Tensors may own them without another copy.
            yield Tensor(images, device=device), Tensor(labels, device=device)

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed}, batches={len(self)})")
