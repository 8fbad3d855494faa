"""Geometric transforms with torchvision's names and arguments.

``CenterCrop``, ``RandomResizedCrop``, ``RandomRotation``; and ``PermutePixels``, the similarity dial.

Like the transforms in ``transforms.py`` each takes one float image ``(C, H, W)`` or a batch
``(N, C, H, W)`` (a PIL image is decoded first, as ``ToTensor`` does) and returns the same kind;
random choices are drawn per image from ``minitl.random`` (or the transform's own ``seed``), so
``minitl.manual_seed`` replays them.

    CenterCrop(size)                     cut the middle size x size (zero-padding a smaller image)
    RandomResizedCrop(size, scale, ratio) a random area and aspect ratio, resized to size: the
                                          standard ImageNet training augmentation
    RandomRotation(degrees, ...)         rotate about the centre by a random angle, filling the corners
    PermutePixels(fraction, seed)        move a fixed fraction of pixel positions, the same way in every
                                          image: spatial structure goes, label information stays
"""
import math
import numbers

import numpy

from ..core.random import resolve_rng
from .errors import DatasetError
from .pixels import pil_to_chw, to_unit_float
from .transforms import _as_batch, _is_pil_image, _pair, resize_weights


def as_image_batch(images, name):
    """``(float32 batch (N, C, H, W), was_single)``; a PIL image is decoded to (C, H, W) in [0, 1] first."""
    if _is_pil_image(images):
        images = to_unit_float(pil_to_chw(images), name)
    return _as_batch(images)


def _range(value, name, centre, low_bound=None):
    """A number v -> (centre - v, centre + v) (clipped at ``low_bound``); a pair passes through."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise DatasetError(f"{name} must be non-negative when it is a single number, got {value}.")
        low = centre - value
        return (low if low_bound is None else max(low_bound, low)), centre + value
    low, high = (float(v) for v in value)
    if low > high:
        raise DatasetError(f"{name} range must be (min, max) with min <= max, got {value!r}.")
    return low, high


class CenterCrop:
    """Cut the central ``size`` (int or ``(height, width)``) window, as torchvision's ``CenterCrop``.

    The offset is ``round((H - height) / 2)``; an image smaller than ``size`` is zero-padded first.
    """

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop size")

    def __call__(self, images):
        batch, single = as_image_batch(images, "CenterCrop")
        (height, width), (h, w) = self.size, batch.shape[2:]
        pad_y, pad_x = max(0, height - h), max(0, width - w)
        if pad_y or pad_x:  # torchvision pads the short side(s) so the crop fits, then crops the middle
            batch = numpy.pad(batch, ((0, 0), (0, 0), (pad_y // 2, pad_y - pad_y // 2),
                                      (pad_x // 2, pad_x - pad_x // 2)))
            h, w = batch.shape[2:]
        top, left = int(round((h - height) / 2.0)), int(round((w - width) / 2.0))
        out = batch[:, :, top:top + height, left:left + width]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomResizedCrop:
    """A random crop of ``scale`` of the area and aspect ratio in ``ratio``, resized to ``size``.

    torchvision's rule: up to 10 tries draw an area fraction uniformly from ``scale`` and a log-uniform
    aspect ratio (width / height) from ``ratio``; the first crop that fits is used, else the largest
    centred crop with an aspect ratio in range. The crop is resized with the bilinear filter of
    ``Resize`` (antialiased, as torchvision's default). Notice that the model then sees objects at
    many sizes and positions: the augmentation behind most ImageNet-pretrained weights.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation="bilinear", antialias=True,
                 seed=None):
        self.size = _pair(size, "RandomResizedCrop size")
        self.scale, self.ratio = tuple(float(s) for s in scale), tuple(float(r) for r in ratio)
        if not (0 < self.scale[0] <= self.scale[1]) or not (0 < self.ratio[0] <= self.ratio[1]):
            raise DatasetError(f"RandomResizedCrop: scale {scale} and ratio {ratio} must be (min, max) with "
                               "0 < min <= max.")
        if _mode_name(interpolation) != "bilinear" or not antialias:
            raise DatasetError("RandomResizedCrop: minitl resizes with the antialiased bilinear filter only "
                               "(interpolation='bilinear', antialias=True).")
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def crop_box(self, height, width, rng):
        """(top, left, crop height, crop width) for one image, drawn as torchvision's ``get_params``."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
        in_ratio = width / height  # fallback: the whole image, trimmed to the nearest allowed ratio
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            h, w = height, width
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, images):
        batch, single = as_image_batch(images, "RandomResizedCrop")
        rng = resolve_rng(self._rng)
        out_h, out_w = self.size
        out = numpy.empty(batch.shape[:2] + self.size, dtype=numpy.float32)
        for n, image in enumerate(batch):  # every crop has its own size, so its own resize matrices
            top, left, h, w = self.crop_box(image.shape[1], image.shape[2], rng)
            crop = image[:, top:top + h, left:left + w]
            out[n] = resize_weights(h, out_h) @ crop @ resize_weights(w, out_w).T
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={_short_pair(self.ratio)})"


class RandomRotation:
    """Rotate each image about its centre by an angle drawn uniformly from ``degrees``, as torchvision's.

    ``degrees``: d means (-d, d), or a (min, max) pair; positive angles turn counter-clockwise.
    ``interpolation``: "nearest" (torchvision's default) or "bilinear". ``fill``: the value (or one
    per channel) of the corners that come from outside the image. ``center``: (x, y) in pixels,
    default the middle. Output pixel p reads input pixel ``R(-angle) (p - centre) + centre``.
    """

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0, seed=None):
        self.degrees = _range(degrees, "RandomRotation degrees", 0.0)
        self.interpolation = _mode_name(interpolation)
        if self.interpolation not in ("nearest", "bilinear"):
            raise DatasetError(f"RandomRotation: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}.")
        if expand:
            raise DatasetError("RandomRotation: expand=True is not supported in minitl; the output keeps the "
                               "input size (pad the image first to keep the corners).")
        self.center, self.fill = center, fill
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __call__(self, images):
        batch, single = as_image_batch(images, "RandomRotation")
        count, channels, h, w = batch.shape
        angles = numpy.deg2rad(resolve_rng(self._rng).uniform(*self.degrees, size=count))  # one per image
        cx, cy = ((w - 1) / 2, (h - 1) / 2) if self.center is None else (float(self.center[0]), float(self.center[1]))
        y, x = numpy.mgrid[0:h, 0:w].astype(numpy.float64)
        cos, sin = numpy.cos(angles)[:, None, None], numpy.sin(angles)[:, None, None]
        # inverse map, y pointing down: a counter-clockwise turn on screen is undone by a clockwise one
        src_x = (x - cx) * cos - (y - cy) * sin + cx
        src_y = (x - cx) * sin + (y - cy) * cos + cy
        fill = numpy.broadcast_to(numpy.asarray(self.fill, numpy.float32).reshape(-1, 1, 1), (channels, h, w))
        if self.interpolation == "nearest":
            out = _sample(batch, numpy.round(src_y), numpy.round(src_x), fill)
        else:
            top, left = numpy.floor(src_y), numpy.floor(src_x)
            fy, fx = (src_y - top)[:, None], (src_x - left)[:, None]
            out = ((1 - fy) * (1 - fx) * _sample(batch, top, left, fill)
                   + (1 - fy) * fx * _sample(batch, top, left + 1, fill)
                   + fy * (1 - fx) * _sample(batch, top + 1, left, fill)
                   + fy * fx * _sample(batch, top + 1, left + 1, fill)).astype(numpy.float32)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r}, fill={self.fill})"


def _sample(batch, rows, cols, fill):
    """``batch[n, :, rows[n], cols[n]]`` for integer-valued float coordinates (N, H, W); ``fill`` outside."""
    count, _, h, w = batch.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    r, c = numpy.clip(rows, 0, h - 1).astype(numpy.intp), numpy.clip(cols, 0, w - 1).astype(numpy.intp)
    picked = batch[numpy.arange(count)[:, None, None], :, r, c]  # (N, H, W, C): advanced axes first
    picked = numpy.moveaxis(picked, -1, 1)
    return numpy.where(inside[:, None], picked, fill[None])


def _mode_name(interpolation) -> str:
    """'bilinear' from a string or from an enum like torchvision's ``InterpolationMode.BILINEAR``."""
    return str(getattr(interpolation, "value", interpolation)).lower()


def _short_pair(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


class PermutePixels:
    """Shuffle a fixed ``fraction`` p of the pixel positions, the same way in every image (seeded).

    The similarity dial of transfer learning. p = 0 leaves the images as they are; p = 1 moves
    every pixel to another place, so the picture looks like noise to a person and to a convolution
    (its filters read neighbouring pixels, which are no longer neighbours), while the label can
    still be learnt: the permutation is fixed, so a network trained on the permuted images can
    classify them. In between, round(p * H * W) positions are chosen and moved in one cycle among
    themselves, so every chosen position gets another position's pixel (a single chosen position
    cannot move alone, so it becomes two). Positions are chosen from one seeded ordering: the
    positions moved at p = 0.25 are among those moved at p = 0.5, so the dial turns smoothly.
    Every channel of a position moves together.
    """

    def __init__(self, fraction: float, seed: int = 0):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise DatasetError(f"PermutePixels: fraction must be between 0 (identity) and 1 (every pixel "
                               f"moved), got {fraction}.")
        self.fraction, self.seed = fraction, int(seed)
        self._permutations = {}

    def permutation(self, height: int, width: int) -> numpy.ndarray:
        """int64 ``(height * width,)``: output position i takes the pixel at input position ``[i]``."""
        key = (int(height), int(width))
        if key not in self._permutations:
            positions = key[0] * key[1]
            moved = math.floor(self.fraction * positions + 0.5)
            moved = 2 if moved == 1 and positions > 1 else moved
            chosen = numpy.random.default_rng(self.seed).permutation(positions)[:moved]
            permutation = numpy.arange(positions)
            permutation[chosen] = numpy.roll(chosen, -1)  # one cycle: every chosen position changes
            self._permutations[key] = permutation
        return self._permutations[key]

    def __call__(self, images):
        batch, single = as_image_batch(images, "PermutePixels")
        n, channels, height, width = batch.shape
        flat = batch.reshape(n, channels, height * width)
        out = flat[:, :, self.permutation(height, width)].reshape(batch.shape)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"PermutePixels(fraction={self.fraction}, seed={self.seed})"
