"""ColorJitter: torchvision's blend formulas for brightness, contrast and saturation; seeded, per image."""
import numpy
import pytest

import minitl
from minitl.data import ColorJitter, DatasetError
from minitl.data.transforms import LUMA_WEIGHTS


def _rgb(rng, count=3):
    return rng.uniform(0.1, 0.9, (count, 3, 5, 6)).astype(numpy.float32)


def test_brightness_scales_and_clips(rng):
    images = _rgb(rng)
    numpy.testing.assert_allclose(ColorJitter(brightness=(0.5, 0.5))(images), images * 0.5, rtol=1e-6)
    numpy.testing.assert_allclose(ColorJitter(brightness=(3.0, 3.0))(images), numpy.clip(images * 3, 0, 1))


def test_contrast_blends_with_the_mean_grey_level(rng):
    images = _rgb(rng)
    grey_mean = (images * numpy.reshape(LUMA_WEIGHTS, (1, 3, 1, 1))).sum(1).mean(axis=(1, 2))
    flat = ColorJitter(contrast=(0.0, 0.0))(images)  # factor 0: every pixel is the image's mean grey
    numpy.testing.assert_allclose(flat, numpy.broadcast_to(grey_mean[:, None, None, None], images.shape), rtol=1e-5)
    half = ColorJitter(contrast=(0.5, 0.5))(images)
    numpy.testing.assert_allclose(half, 0.5 * images + 0.5 * grey_mean[:, None, None, None], rtol=1e-5)


def test_saturation_zero_gives_grey(rng):
    out = ColorJitter(saturation=(0.0, 0.0))(_rgb(rng))
    numpy.testing.assert_allclose(out[:, 0], out[:, 1], rtol=1e-6)
    numpy.testing.assert_allclose(out[:, 1], out[:, 2], rtol=1e-6)


def test_factors_are_drawn_per_image_in_range_and_seeded(rng):
    image = _rgb(rng, 1)
    batch = numpy.repeat(image, 50, axis=0)
    minitl.manual_seed(1)
    out = ColorJitter(brightness=0.4)(batch)
    factors = out.mean(axis=(1, 2, 3)) / image.mean()
    assert factors.min() >= 0.6 - 1e-5 and factors.max() <= 1.4 + 1e-5 and factors.std() > 0.1
    minitl.manual_seed(1)
    numpy.testing.assert_array_equal(out, ColorJitter(brightness=0.4)(batch))
    single = ColorJitter(brightness=0.4, contrast=0.4, seed=2)(image[0])
    assert single.shape == image[0].shape and single.dtype == numpy.float32


def test_hue_and_bad_ranges_are_refused():
    with pytest.raises(DatasetError, match="hue is not supported"):
        ColorJitter(hue=0.1)
    with pytest.raises(DatasetError, match="brightness must be non-negative"):
        ColorJitter(brightness=-1)
