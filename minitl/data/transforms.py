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
    Resize(size)             Pillow bilinear resize (PIL image or arrays)
    Grayscale()              RGB -> one channel with Pillow's luminance weights

Randomness comes from ``minitl.random.get_rng()`` (so ``minitl.manual_seed`` replays it) unless a
transform is given its own ``seed``. Transforms run on the host (NumPy), before the ``DataLoader``
moves the batch to the device.

Talks to: ``dataset.py`` and ``image_folder.py`` (which call them), ``minitl.random``.
"""
import numpy

from ..random import resolve_rng
from .errors import DatasetError

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

    uint8 pixels are divided by 255; float input is taken as already scaled and passed through as
    float32. A PIL image is ``(H, W, C)`` in memory and is transposed; a NumPy array is taken to be
    in minitl's channels-first layout already, and a 2-D ``(H, W)`` array gets one channel. (The
    name is PyTorch's; the result is an array, and the ``DataLoader`` wraps batches into Tensors.)
    """

    def __call__(self, image):
        if _is_pil_image(image):
            bands = len(image.getbands())
            if image.mode not in ("L", "RGB", "F"):
                image = image.convert("L" if bands == 1 else "RGB")
            array = numpy.asarray(image)
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # HWC -> CHW
        else:
            array = numpy.asarray(image)
            if array.ndim == 2:
                array = array[None]
        if array.dtype == numpy.uint8:
            return array.astype(numpy.float32) * numpy.float32(1 / 255)
        return array.astype(numpy.float32)

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
        images = numpy.asarray(images, dtype=numpy.float32)
        channels = images.shape[-3]
        if len(self.mean) not in (1, channels):
            raise DatasetError(f"Normalize: {len(self.mean)} means for images with {channels} "
                               "channels; give one per channel (or one for all).")
        mean = numpy.asarray(self.mean, numpy.float32).reshape(-1, 1, 1)
        std = numpy.asarray(self.std, numpy.float32).reshape(-1, 1, 1)
        return (images - mean) / std

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
    smooths when shrinking. Takes a PIL image (returns one) or float arrays ``(C, H, W)`` /
    ``(N, C, H, W)`` (each channel resized as a 32-bit float image, so no rounding to 0..255)."""

    def __init__(self, size):
        self.size = _pair(size, "Resize size")

    def __call__(self, image):
        from PIL import Image

        height, width = self.size
        if _is_pil_image(image):
            return image.resize((width, height), Image.Resampling.BILINEAR)
        batch, single = _as_batch(image)
        out = numpy.empty(batch.shape[:2] + (height, width), dtype=numpy.float32)
        for n in range(batch.shape[0]):  # Pillow works on one 2-D plane at a time
            for c in range(batch.shape[1]):
                plane = Image.fromarray(numpy.ascontiguousarray(batch[n, c], dtype=numpy.float32))
                out[n, c] = numpy.asarray(plane.resize((width, height), Image.Resampling.BILINEAR))
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


def channel_mean_std(dataset, chunk: int = 8192):
    """Per-channel mean and std (two lists of floats) over every pixel of ``dataset``'s images in
    [0, 1], before its transform. Summed in float64, in chunks, so 60,000 images need little memory."""
    total = total_sq = None
    pixels = 0
    stored = getattr(dataset, "images", None)
    count = len(dataset)
    if count == 0:
        raise DatasetError(f"{getattr(dataset, 'name', 'dataset')}: no images to measure.")
    for start in range(0, count, chunk):
        if stored is not None:
            block = stored[start:start + chunk].astype(numpy.float64)
            if stored.dtype == numpy.uint8:
                block /= 255.0
        else:
            block = numpy.stack([dataset.load(i) for i in range(start, min(start + chunk, count))])
            block = block.astype(numpy.float64)
        sums, sums_sq = block.sum(axis=(0, 2, 3)), (block * block).sum(axis=(0, 2, 3))
        total = sums if total is None else total + sums
        total_sq = sums_sq if total_sq is None else total_sq + sums_sq
        pixels += block.shape[0] * block.shape[2] * block.shape[3]
    mean = total / pixels
    std = numpy.sqrt(numpy.maximum(total_sq / pixels - mean * mean, 0.0))
    return [float(m) for m in mean], [float(s) for s in std]


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
