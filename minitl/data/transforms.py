"""Transforms: small callables that turn images into what a model wants, composable with ``Compose``.

Every array transform takes either **one image** float32 ``(C, H, W)`` or **a batch**
``(N, C, H, W)`` and returns the same kind. That is the thing to notice: there is no separate
"batch version" class. An ``ArrayDataset`` hands its transform the whole batch, and the random
transforms then draw one random choice *per image* in a single vectorised call (a flip mask of
shape ``(N,)``, crop offsets of shape ``(N,)``), so augmentation costs a few array operations per
batch instead of a Python loop per image. ``ImageFolder`` hands its transform one image at a time.

    ToTensor()               PIL image / uint8 array -> float32 (C, H, W) in [0, 1]
    Normalize(mean, std)     (x - mean) / std per channel; ``Normalize.from_dataset(ds)`` measures them
    RandomCrop(size, padding)  zero-pad, then cut a random size x size window from each image
    RandomShift(max_shift)   move each image by up to max_shift pixels (= RandomCrop to the same size)
    RandomHorizontalFlip(p)  mirror each image left-right with probability p
    Resize(size)             Pillow's bilinear resize (PIL image), or the same filter as two
                             matrix products for a whole batch of arrays
    Grayscale()              RGB -> one channel with Pillow's luminance weights

Randomness comes from ``minitl.random.get_rng()`` (so ``minitl.manual_seed`` replays it) unless a
transform is given its own ``seed``. Transforms run on the host (NumPy), before the ``DataLoader``
moves the batch to the device.
"""
import math

import numpy

from ..core.random import resolve_rng
from .errors import DatasetError
from .pixels import pil_resize, pil_to_chw, to_unit_float

# ITU-R 601-2 luma weights, the ones Pillow's convert("L") uses, so both paths agree.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


class Compose:
    """Apply ``transforms`` in order: ``Compose([RandomCrop(28, 2), Normalize(0.29, 0.35)])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images):
        for transform in self.transforms:
            images = transform(images)
        return images

    def __repr__(self) -> str:
        inner = "".join(f"\n    {transform!r}," for transform in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """PIL image or array -> float32 in tensor layout ``(C, H, W)`` (or ``(N, C, H, W)``), in [0, 1].

    Integer pixels (0..255) are divided by 255; float input is taken as already scaled and passed
    through as float32. A PIL image is decoded exactly as ``ImageFolder`` decodes a file
    (``pixels.pil_to_chw``: palette colour stays colour, alpha is dropped, 16-bit grey is scaled);
    a NumPy array is taken to be in minitl's channels-first layout already, and a 2-D ``(H, W)``
    array gets one channel. (The name is PyTorch's; the result is an array, and the ``DataLoader``
    wraps batches into Tensors.)
    """

    def __call__(self, image):
        if _is_pil_image(image):
            return to_unit_float(pil_to_chw(image), "ToTensor")
        array = numpy.asarray(image)
        return to_unit_float(array[None] if array.ndim == 2 else array, "ToTensor")

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel; ``mean`` and ``std`` are numbers or one per channel.

    Use the statistics of the data the model was *first trained on* (the source task), and keep
    using them when fine-tuning: the pretrained weights expect inputs on that scale. They are
    stored beside the weights for that reason (``as_dict()``).
    """

    def __init__(self, mean, std):
        self.mean = [float(m) for m in numpy.atleast_1d(mean)]
        self.std = [float(s) for s in numpy.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise DatasetError(f"Normalize: {len(self.mean)} means but {len(self.std)} stds; give "
                               "one of each per channel.")
        if min(self.std) <= 0:
            raise DatasetError(f"Normalize: std must be positive, got {self.std}.")

    @classmethod
    def from_dataset(cls, dataset) -> "Normalize":
        """Measure each channel's mean and std over all of ``dataset``'s images (before its
        transform) and return the matching ``Normalize``."""
        mean, std = channel_mean_std(dataset)
        return cls(mean, std)

    def as_dict(self) -> dict:
        """``{"mean": [...], "std": [...]}``: JSON-ready, to store in a weights manifest."""
        return {"mean": list(self.mean), "std": list(self.std)}

    def __call__(self, images):
        batch, single = _as_batch(images)
        channels = batch.shape[1]
        if len(self.mean) not in (1, channels):
            raise DatasetError(f"Normalize: {len(self.mean)} means for images with {channels} "
                               "channels; give one per channel (or one for all).")
        mean = numpy.asarray(self.mean, numpy.float32).reshape(-1, 1, 1)
        std = numpy.asarray(self.std, numpy.float32).reshape(-1, 1, 1)
        out = (batch - mean) / std
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Normalize(mean={_short(self.mean)}, std={_short(self.std)})"


class RandomCrop:
    """Zero-pad each side by ``padding``, then cut a random ``size`` window from every image.

    ``size``: int or ``(height, width)``. Output ``(N, C, height, width)``. With ``padding`` p and
    ``size`` equal to the input size, this moves the picture by up to p pixels: a cheap way to
    teach a network that a shirt a little to the left is still a shirt.
    """

    def __init__(self, size, padding: int = 0, seed=None):
        self.size = None if size is None else _pair(size, "RandomCrop size")
        self.padding = int(padding)
        if self.padding < 0:
            raise DatasetError(f"RandomCrop: padding must be >= 0, got {padding}.")
        self.seed = seed
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __call__(self, images):
        batch, single = _as_batch(images)
        count, channels, height, width = batch.shape
        out_height, out_width = self.size or (height, width)
        pad = self.padding
        if pad:
            batch = numpy.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        room_y, room_x = height + 2 * pad - out_height, width + 2 * pad - out_width
        if room_y < 0 or room_x < 0:
            raise DatasetError(
                f"{type(self).__name__}: cannot cut {out_height}x{out_width} from {height}x{width} "
                f"images padded by {pad}; use a smaller size or more padding.")
        rng = resolve_rng(self._rng)
        top = rng.integers(0, room_y + 1, size=count)
        left = rng.integers(0, room_x + 1, size=count)
        # One gather for the whole batch: output pixel (n, c, i, j) = padded[n, c, top[n]+i, left[n]+j].
        rows = (top[:, None] + numpy.arange(out_height))[:, None, :, None]
        cols = (left[:, None] + numpy.arange(out_width))[:, None, None, :]
        out = batch[numpy.arange(count)[:, None, None, None],
                    numpy.arange(channels)[None, :, None, None], rows, cols]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift(RandomCrop):
    """Shift every image by a random whole number of pixels in ``[-max_shift, max_shift]`` in each
    direction, filling the uncovered border with zeros. Same shape out as in: it *is*
    ``RandomCrop(size=input size, padding=max_shift)``."""

    def __init__(self, max_shift: int = 2, seed=None):
        super().__init__(size=None, padding=max_shift, seed=seed)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p`` (independently per image in a batch)."""

    def __init__(self, p: float = 0.5, seed=None):
        if not 0.0 <= p <= 1.0:
            raise DatasetError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}.")
        self.p = float(p)
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __call__(self, images):
        batch, single = _as_batch(images)
        flip = resolve_rng(self._rng).random(len(batch)) < self.p  # one coin per image, shape (N,)
        out = batch.copy()
        out[flip] = batch[flip][..., ::-1]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Resize:
    """Resize to ``size`` (int or ``(height, width)``) with Pillow's bilinear filter, which also
    smooths when shrinking. Takes a PIL image (returns one, resized by Pillow) or float arrays
    ``(C, H, W)`` / ``(N, C, H, W)`` (no rounding to 0..255).

    On arrays the thing to notice is that bilinear resizing is *separable* and *linear*: every
    output row is a weighted sum of input rows, every output column one of input columns. So the
    whole batch is ``rows @ images @ columns.T`` with two small weight matrices
    (``resize_weights``), the same weights Pillow uses, and no loop over images or channels.
    """

    def __init__(self, size):
        self.size = _pair(size, "Resize size")

    def __call__(self, image):
        height, width = self.size
        if _is_pil_image(image):
            return pil_resize(image, self.size)
        batch, single = _as_batch(image)
        rows = resize_weights(batch.shape[2], height)     # (height, H)
        columns = resize_weights(batch.shape[3], width)   # (width, W)
        out = rows @ (batch @ columns.T)  # columns first, then rows, as Pillow does: (N, C, height, width)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Resize(size={self.size})"


class Grayscale:
    """Colour -> one channel: ``0.299 R + 0.587 G + 0.114 B`` (Pillow's ``convert("L")`` on a PIL
    image). One-channel input passes through unchanged. Lets a model trained on Fashion-MNIST
    (1 channel) look at a student's colour photos."""

    def __call__(self, image):
        if _is_pil_image(image):
            return image.convert("L")
        batch, single = _as_batch(image)
        if batch.shape[1] == 1:
            out = batch
        elif batch.shape[1] == 3:
            weights = numpy.asarray(LUMA_WEIGHTS, numpy.float32).reshape(1, 3, 1, 1)
            out = (batch * weights).sum(axis=1, keepdims=True, dtype=numpy.float32)
        else:
            raise DatasetError(f"Grayscale: expected 1 or 3 channels, got {batch.shape[1]} "
                               f"(shape {batch.shape}); drop the alpha channel first.")
        return out[0] if single else out

    def __repr__(self) -> str:
        return "Grayscale()"


def resize_weights(size_in: int, size_out: int) -> numpy.ndarray:
    """float32 ``(size_out, size_in)``: row ``i`` holds the weights of Pillow's bilinear filter for
    output pixel ``i`` (Pillow's ``precompute_coeffs``). When shrinking, the triangle is widened by
    the scale, so each output pixel averages every input pixel it covers instead of skipping some."""
    scale = size_in / size_out
    filter_scale = max(scale, 1.0)
    support = filter_scale  # the triangle reaches 1 pixel each side, times filter_scale
    weights = numpy.zeros((size_out, size_in), dtype=numpy.float64)
    for i in range(size_out):
        center = (i + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), size_in)
        taps = numpy.arange(first, last)
        tent = numpy.maximum(1.0 - numpy.abs((taps - center + 0.5) / filter_scale), 0.0)
        weights[i, first:last] = tent / tent.sum() if tent.sum() else tent
    return weights.astype(numpy.float32)


def channel_mean_std(dataset, chunk_pixels: int = 1 << 20):
    """Per-channel mean and std (two lists of floats) over every pixel of ``dataset``'s images in
    [0, 1], before its transform.

    Stored images are read ``chunk_pixels`` values at a time, so 60,000 images need a few MB. uint8
    pixels are summed as integers (uint64 sums of values and of squares): exact, whatever the
    order, with one division by 255 at the end. Data sets that load image by image
    (``ImageFolder``) are summed one image at a time in float64, so images may differ in size.
    """
    count = len(dataset)
    if count == 0:
        raise DatasetError(f"{getattr(dataset, 'name', 'dataset')}: no images to measure.")
    stored = getattr(dataset, "images", None)
    if stored is not None:
        per_chunk = max(1, int(chunk_pixels) // max(1, math.prod(stored.shape[1:])))
        blocks = (stored[start:start + per_chunk] for start in range(0, count, per_chunk))
        scale = 255 if stored.dtype == numpy.uint8 else 1
    else:
        blocks = (dataset.load(index)[None] for index in range(count))
        scale = 1
    total = total_sq = 0
    pixels = 0
    for block in blocks:
        if block.dtype == numpy.uint8:  # 255**2 fits in uint16; the sums are exact in uint64
            total = total + block.sum(axis=(0, 2, 3), dtype=numpy.uint64)
            total_sq = total_sq + numpy.square(block, dtype=numpy.uint16).sum(axis=(0, 2, 3),
                                                                              dtype=numpy.uint64)
        else:
            total = total + block.sum(axis=(0, 2, 3), dtype=numpy.float64)
            total_sq = total_sq + numpy.square(block, dtype=numpy.float64).sum(axis=(0, 2, 3))
        pixels += block.shape[0] * block.shape[2] * block.shape[3]
    # tolist() gives Python ints for uint8 data, so n * sum(x^2) - sum(x)^2 is exact: no cancellation.
    means = [s / (pixels * scale) for s in total.tolist()]
    stds = [math.sqrt(max(pixels * sq - s * s, 0) / (pixels * scale) ** 2)
            for s, sq in zip(total.tolist(), total_sq.tolist())]
    return means, stds


def _as_batch(images):
    """``(batch float32 (N, C, H, W), was_single)``; a single ``(C, H, W)`` becomes a batch of one."""
    array = numpy.asarray(images)
    if array.dtype != numpy.float32:
        array = array.astype(numpy.float32)
    if array.ndim == 3:
        return array[None], True
    if array.ndim == 4:
        return array, False
    raise DatasetError(f"transforms take one image (C, H, W) or a batch (N, C, H, W), got shape "
                       f"{array.shape}; use ToTensor() first for a PIL image or an (H, W) array.")


def _pair(size, what: str) -> tuple:
    pair = (size, size) if numpy.isscalar(size) else tuple(size)
    if len(pair) != 2 or min(int(s) for s in pair) <= 0:
        raise DatasetError(f"{what} must be a positive int or (height, width), got {size!r}.")
    return int(pair[0]), int(pair[1])


def _is_pil_image(value) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "getbands")


def _short(values) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"
