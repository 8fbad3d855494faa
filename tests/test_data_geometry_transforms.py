"""CenterCrop, RandomResizedCrop, RandomRotation: torchvision's rules, one image or a batch, seeded."""
import numpy
import pytest

import minitl
from minitl.data import CenterCrop, DatasetError, PermutePixels, RandomResizedCrop, RandomRotation, Resize


def _images(rng, shape=(4, 3, 10, 12)):
    return rng.uniform(0, 1, shape).astype(numpy.float32)


def test_center_crop_takes_the_middle_with_torchvision_rounding(rng):
    images = _images(rng, (2, 1, 7, 8))
    out = CenterCrop((4, 3))(images)
    top, left = int(round((7 - 4) / 2)), int(round((8 - 3) / 2))  # torchvision: round((H - h) / 2)
    numpy.testing.assert_array_equal(out, images[:, :, top:top + 4, left:left + 3])
    assert CenterCrop(5)(images[0]).shape == (1, 5, 5)  # one image in, one image out


def test_center_crop_zero_pads_a_smaller_image():
    image = numpy.ones((1, 2, 2), dtype=numpy.float32)
    out = CenterCrop(4)(image)
    assert out.shape == (1, 4, 4) and out.sum() == 4 and out[0, 1:3, 1:3].all()


def test_random_resized_crop_boxes_respect_scale_and_ratio(rng):
    crop = RandomResizedCrop(8, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    for _ in range(200):
        top, left, h, w = crop.crop_box(40, 50, rng)
        assert 0 <= top and top + h <= 40 and 0 <= left and left + w <= 50
        assert 0.2 * 2000 * 0.8 <= h * w <= 0.6 * 2000 * 1.2  # rounding of h and w moves the area a little
        assert 0.5 * 0.8 <= w / h <= 2.0 * 1.25


def test_random_resized_crop_of_the_whole_image_is_resize(rng):
    images = _images(rng, (3, 2, 12, 12))
    out = RandomResizedCrop(5, scale=(1.0, 1.0), ratio=(1.0, 1.0))(images)
    numpy.testing.assert_allclose(out, Resize(5)(images), rtol=1e-6, atol=1e-6)


def test_random_resized_crop_falls_back_to_a_centred_crop_in_the_ratio():
    crop = RandomResizedCrop(4, scale=(2.0, 3.0), ratio=(1.0, 1.0))  # no area > the image can fit: fallback
    assert crop.crop_box(10, 20, numpy.random.default_rng(0)) == (0, 5, 10, 10)


def test_random_transforms_are_seeded_per_image(rng):
    images = numpy.repeat(_images(rng, (1, 3, 10, 12)), 4, axis=0)  # four copies of one image
    for cls, argument in ((RandomResizedCrop, 6), (RandomRotation, 40)):
        minitl.manual_seed(3)
        first = cls(argument)(images)
        minitl.manual_seed(3)
        numpy.testing.assert_array_equal(first, cls(argument)(images))  # manual_seed replays it
        assert not numpy.array_equal(first, cls(argument)(images))  # the next call draws anew
        assert len({first[n].tobytes() for n in range(4)}) == 4  # one random choice per image
        numpy.testing.assert_array_equal(cls(argument, seed=5)(images), cls(argument, seed=5)(images))  # own seed


def test_random_rotation_by_90_degrees_is_rot90(rng):
    images = _images(rng, (2, 3, 6, 6))
    for interpolation in ("nearest", "bilinear"):
        out = RandomRotation((90, 90), interpolation=interpolation)(images)
        numpy.testing.assert_allclose(out, numpy.rot90(images, 1, axes=(2, 3)), atol=1e-5)  # counter-clockwise
    numpy.testing.assert_array_equal(RandomRotation(0)(images), images)


def test_random_rotation_fills_the_corners_and_draws_one_angle_per_image(rng):
    image = numpy.ones((2, 9, 9), dtype=numpy.float32)
    out = RandomRotation((45, 45), fill=[0.25, 0.5])(image)
    assert out[0, 0, 0] == 0.25 and out[1, 0, 0] == 0.5 and out[:, 4, 4].tolist() == [1, 1]
    batch = numpy.repeat(_images(rng, (1, 1, 8, 8)), 6, axis=0)
    rotated = RandomRotation(180, seed=0)(batch)
    assert len({rotated[n].tobytes() for n in range(6)}) == 6  # six images, six angles


def test_transform_arguments_are_checked_with_a_message():
    with pytest.raises(DatasetError, match="expand=True is not supported"):
        RandomRotation(10, expand=True)
    with pytest.raises(DatasetError, match="scale .* must be \\(min, max\\)"):
        RandomResizedCrop(8, scale=(0.9, 0.1))


# PermutePixels: the similarity dial of demo 15 and `minitl compare --target-permute`

def _numbered_batch(n=3, channels=2, size=28):
    """Every pixel holds a distinct number, so where each one went can be read off the output."""
    return numpy.arange(n * channels * size * size, dtype=numpy.float32).reshape(n, channels, size, size)


def test_permute_pixels_at_zero_is_the_identity():
    batch = _numbered_batch()
    numpy.testing.assert_array_equal(PermutePixels(0.0, seed=3)(batch), batch)
    assert (PermutePixels(0.0).permutation(28, 28) == numpy.arange(784)).all()


def test_permute_pixels_at_one_moves_every_pixel_the_same_way_in_every_image():
    batch = _numbered_batch()
    out = PermutePixels(1.0, seed=0)(batch)
    assert sorted(out[0, 0].ravel().tolist()) == sorted(batch[0, 0].ravel().tolist())  # a permutation
    assert (out != batch).all()                                                     # every pixel moved
    flat_in, flat_out = batch.reshape(3, 2, -1), out.reshape(3, 2, -1)
    moves = [numpy.searchsorted(flat_in[i, c], flat_out[i, c]) for i in range(3) for c in range(2)]
    assert all((move == moves[0]).all() for move in moves)  # one permutation for every image and channel


def test_permute_pixels_is_fixed_by_its_seed():
    batch = _numbered_batch(n=1, channels=1)
    first, again = PermutePixels(1.0, seed=7), PermutePixels(1.0, seed=7)
    numpy.testing.assert_array_equal(first(batch), again(batch))
    numpy.testing.assert_array_equal(first(batch), first(batch))
    assert not numpy.array_equal(first(batch), PermutePixels(1.0, seed=8)(batch))


@pytest.mark.parametrize("fraction, moved", [(0.25, 196), (0.5, 392), (0.1, 78), (0.001, 2)])
def test_permute_pixels_moves_the_asked_fraction_of_positions(fraction, moved):
    permutation = PermutePixels(fraction, seed=1).permutation(28, 28)
    assert sorted(permutation.tolist()) == list(range(784))
    assert int((permutation != numpy.arange(784)).sum()) == moved
    batch = _numbered_batch(n=2, channels=1)
    assert int((PermutePixels(fraction, seed=1)(batch) != batch).sum()) == 2 * moved


def test_permute_pixels_turns_smoothly_and_checks_its_fraction():
    quarter = PermutePixels(0.25, seed=2).permutation(28, 28) != numpy.arange(784)
    half = PermutePixels(0.5, seed=2).permutation(28, 28) != numpy.arange(784)
    assert (half[quarter]).all()  # what moves at p = 0.25 also moves at p = 0.5
    image = _numbered_batch(n=1, channels=1)[0]
    assert PermutePixels(1.0)(image).shape == (1, 28, 28)  # one image in, one image out
    with pytest.raises(DatasetError, match="PermutePixels: fraction"):
        PermutePixels(1.5)
