"""Pixels: how a picture becomes minitl's image form, float32 ``(C, H, W)`` in [0, 1].

Every road into a data set passes through here, so all of them agree on what a pixel means:

    to_unit_float(array)      uint8 0..255 (or wider integers holding 0..255) -> float32 / 255;
                              float data is taken as already in [0, 1]
    as_uint8_pixels(array)    wider integers holding 0..255 -> uint8 (anything else is refused)
    pil_to_chw(image, ...)    a Pillow image, any mode -> uint8 ``(C, H, W)`` (float32 for mode F)
    pil_resize(image, size)   Pillow's bilinear resize, which also smooths when shrinking

The thing to notice: a picture file does not say "0..255". An 8-bit PNG does, a 16-bit PNG holds
0..65535 (mode ``I;16``), a palette GIF holds *indices* into a colour table (mode ``P``). Each is
turned into 8-bit pixels here, by its own rule, before anything divides by 255.
"""
import numpy
from PIL import Image

from .errors import DatasetError

# Pillow modes with one value per pixel. "P" is not here: a palette can hold colours.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})


def as_uint8_pixels(array, name: str = "images") -> numpy.ndarray:
    """Integer pixels -> uint8, if every value is in 0..255 (the same rule for arrays and files)."""
    array = numpy.asarray(array)
    if array.dtype == numpy.uint8:
        return array
    if array.size and (array.min() < 0 or array.max() > 255):
        raise DatasetError(f"{name}: integer images must hold 0..255, got {array.min()}.."
                           f"{array.max()}; scale them to floats in [0, 1] instead.")
    return array.astype(numpy.uint8)


def to_unit_float(array, name: str = "images") -> numpy.ndarray:
    """Pixels of any shape -> float32 in [0, 1]: integers are divided by 255, floats copied as they are.

    Always a new array, so a transform may work on it in place.
    """
    array = numpy.asarray(array)
    if array.dtype.kind in "iu":
        return as_uint8_pixels(array, name).astype(numpy.float32) * numpy.float32(1 / 255)
    if array.dtype.kind not in "fb":
        raise DatasetError(f"{name}: pixels must be integers or floats, got {array.dtype}.")
    return array.astype(numpy.float32, copy=True)


def pil_resize(image, size):
    """Pillow image -> Pillow image of ``size`` = ``(height, width)`` (note: Pillow itself wants
    ``(width, height)``), with the bilinear filter."""
    height, width = size
    return image.resize((width, height), Image.Resampling.BILINEAR)


def pil_to_chw(image, channels: int | None = None, size=None, name: str = "image") -> numpy.ndarray:
    """Pillow image -> ``(C, H, W)`` uint8, or float32 for mode ``F`` (taken as already in [0, 1]).

    ``channels``: 1 (grey, Pillow's luminance for colour), 3 (RGB; grey is repeated) or None (1 for
    grey modes, 3 for the rest; a palette image counts as colour). ``size``: ``(height, width)``
    to resize to first (``pil_resize``). Alpha is dropped. 16-bit grey is scaled to 8 bits
    (``round(v / 257)``, so 65535 -> 255), not clipped.
    """
    if channels is None:
        channels = 1 if image.mode in GRAY_MODES else 3
    if image.mode in SIXTEEN_BIT_MODES:
        sixteen = numpy.asarray(image).astype(numpy.float32)
        image = Image.fromarray(numpy.rint(sixteen * numpy.float32(1 / 257)).astype(numpy.uint8))
    elif image.mode == "I":  # 32-bit integers: no fixed range, so only 0..255 is accepted
        image = Image.fromarray(as_uint8_pixels(numpy.asarray(image), f"{name} (mode I)"))
    elif image.mode != "F":
        image = image.convert("L" if channels == 1 or image.mode in GRAY_MODES else "RGB")
    if size is not None:
        image = pil_resize(image, size)
    array = numpy.asarray(image)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # HWC -> CHW
    if channels == 3 and len(array) == 1:
        array = numpy.repeat(array, 3, axis=0)  # grey as RGB: the same value in every channel
    return array
