"""``ColorJitter``: random brightness, contrast and saturation, as torchvision's (hue is not supported).

Each factor f is drawn per image from [max(0, 1 - v), 1 + v] (or a given (min, max)) and blends the
image with a reference: brightness with black (``f x``), contrast with the image's mean grey level,
saturation with its grey version; the result is clipped to [0, 1]. So apply it to pixels in
[0, 1], *before* ``Normalize``. The adjustments run in a random order per call, as in torchvision.
"""
import numpy

from ..core.random import resolve_rng
from .errors import DatasetError
from .geometry_transforms import _range, as_image_batch
from .transforms import LUMA_WEIGHTS


def _grey(batch):
    """(N, 1, H, W) luminance of RGB images; one-channel images are their own grey."""
    if batch.shape[1] == 1:
        return batch
    weights = numpy.asarray(LUMA_WEIGHTS, numpy.float32).reshape(1, 3, 1, 1)
    return (batch * weights).sum(axis=1, keepdims=True, dtype=numpy.float32)


class ColorJitter:
    """Randomly change ``brightness``, ``contrast`` and ``saturation`` of each image (factors around 1).

    ``ColorJitter(brightness=0.4, contrast=0.4)``: each image gets its own factors in [0.6, 1.4].
    Notice that a factor of 0 contrast gives a flat grey image, and 0 brightness a black one.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, seed=None):
        if hue not in (0, None, (0, 0)):
            raise DatasetError("ColorJitter: hue is not supported in minitl; use brightness, contrast and "
                               "saturation.")
        self.ranges = {name: _range(value, f"ColorJitter {name}", 1.0, low_bound=0.0)
                       for name, value in (("brightness", brightness), ("contrast", contrast),
                                           ("saturation", saturation))}
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __call__(self, images):
        batch, single = as_image_batch(images, "ColorJitter")
        if batch.shape[1] not in (1, 3):
            raise DatasetError(f"ColorJitter: expected 1 or 3 channels, got shape {batch.shape}.")
        rng = resolve_rng(self._rng)
        out = batch
        for index in rng.permutation(3):  # a random order, as torchvision
            name = ("brightness", "contrast", "saturation")[index]
            low, high = self.ranges[name]
            if (low, high) == (1.0, 1.0):
                continue
            factor = rng.uniform(low, high, size=len(batch)).astype(numpy.float32).reshape(-1, 1, 1, 1)
            if name == "brightness":
                reference = numpy.zeros_like(out[:, :1])
            elif name == "contrast":
                reference = _grey(out).mean(axis=(1, 2, 3), keepdims=True)
            else:
                if out.shape[1] == 1:
                    continue  # a grey image has no saturation to change
                reference = _grey(out)
            out = numpy.clip(factor * out + (1 - factor) * reference, 0.0, 1.0).astype(numpy.float32)
        return out[0] if single else out

    def __repr__(self) -> str:
        text = ", ".join(f"{name}={value}" for name, value in self.ranges.items() if value != (1.0, 1.0))
        return f"ColorJitter({text})"
