"""Every transform: output shape, dtype and value range, on one image and on a batch."""
import numpy
import pytest
from PIL import Image

import minitl
from minitl.data import (
    ArrayDataset,
    Compose,
    Grayscale,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    Resize,
    ToTensor,
    channel_mean_std,
)
from minitl.data.errors import DatasetError


@pytest.fixture
def batch():
    return numpy.random.default_rng(0).random((8, 1, 28, 28), dtype=numpy.float32)


def test_to_tensor_pil_rgb_and_gray():
    rgb = Image.fromarray(numpy.full((5, 7, 3), 255, numpy.uint8))
    out = ToTensor()(rgb)
    assert out.shape == (3, 5, 7) and out.dtype == numpy.float32 and out.max() == 1.0
    gray = Image.fromarray(numpy.arange(35, dtype=numpy.uint8).reshape(5, 7))
    out = ToTensor()(gray)
    assert out.shape == (1, 5, 7) and 0.0 <= out.min() and out.max() <= 1.0
    assert out[0, 0, 1] == pytest.approx(1 / 255)


def test_to_tensor_arrays():
    assert ToTensor()(numpy.full((4, 4), 51, numpy.uint8)).shape == (1, 4, 4)
    out = ToTensor()(numpy.full((2, 1, 4, 4), 255, numpy.uint8))
    assert out.shape == (2, 1, 4, 4) and out.max() == 1.0
    already = numpy.full((1, 3, 3), 0.5, numpy.float64)
    assert ToTensor()(already).dtype == numpy.float32 and ToTensor()(already).max() == 0.5


def test_normalize_per_channel():
    images = numpy.stack([numpy.full((2, 2), 0.5), numpy.full((2, 2), 1.0)]).astype(numpy.float32)
    out = Normalize([0.5, 0.5], [0.25, 0.5])(images)
    assert out.shape == (2, 2, 2) and out.dtype == numpy.float32
    numpy.testing.assert_allclose(out[0], 0.0)
    numpy.testing.assert_allclose(out[1], 1.0)
    batch = numpy.ones((3, 2, 2, 2), numpy.float32)
    assert Normalize(0.5, 0.5)(batch).shape == (3, 2, 2, 2)
    with pytest.raises(DatasetError, match="channels"):
        Normalize([0.1, 0.2, 0.3], [1, 1, 1])(batch)
    with pytest.raises(DatasetError, match="positive"):
        Normalize(0.0, 0.0)


def test_normalize_from_dataset_gives_zero_mean_unit_std():
    images = numpy.random.default_rng(1).integers(0, 256, (50, 1, 6, 6), dtype=numpy.uint8)
    dataset = ArrayDataset(images, numpy.zeros(50, numpy.int64))
    norm = Normalize.from_dataset(dataset)
    scaled = images / 255.0
    assert norm.mean[0] == pytest.approx(scaled.mean()) and norm.std[0] == pytest.approx(scaled.std())
    out = norm(dataset.get_batch(numpy.arange(50))[0])
    assert abs(out.mean()) < 1e-4 and out.std() == pytest.approx(1.0, abs=1e-4)
    assert norm.as_dict() == {"mean": norm.mean, "std": norm.std}
    numpy.testing.assert_allclose(channel_mean_std(dataset, chunk_pixels=7 * 36), channel_mean_std(dataset),
                                  rtol=1e-9)


@pytest.mark.parametrize("single", [True, False])
def test_random_crop_shape_and_values(batch, single):
    images = batch[0] if single else batch
    out = RandomCrop(24, padding=2)(images)
    assert out.shape == ((1, 24, 24) if single else (8, 1, 24, 24))
    assert out.dtype == numpy.float32 and out.min() >= 0.0 and out.max() <= 1.0


def test_random_crop_windows_come_from_the_padded_image():
    image = numpy.arange(16, dtype=numpy.float32).reshape(1, 1, 4, 4)
    batch = numpy.repeat(image, 50, axis=0)
    out = RandomCrop(2, seed=0)(batch)
    windows = {tuple(image[0, 0, i:i + 2, j:j + 2].ravel()) for i in range(3) for j in range(3)}
    seen = {tuple(crop[0].ravel()) for crop in out}
    assert seen <= windows and len(seen) > 1  # different offsets per image, all legal


def test_random_crop_too_big():
    with pytest.raises(DatasetError, match="cannot cut"):
        RandomCrop(30)(numpy.zeros((1, 28, 28), numpy.float32))


def test_random_shift_keeps_shape_and_moves_content(batch):
    out = RandomShift(3, seed=1)(batch)
    assert out.shape == batch.shape and out.min() >= 0.0 and out.max() <= 1.0
    assert not numpy.array_equal(out, batch)
    one = numpy.zeros((1, 1, 9, 9), numpy.float32)
    one[0, 0, 4, 4] = 1.0
    moved = RandomShift(2, seed=2)(numpy.repeat(one, 30, axis=0))
    assert numpy.all(moved.sum(axis=(1, 2, 3)) == 1.0)  # 2 <= 4: the dot never falls off
    rows, cols = numpy.nonzero(moved[:, 0].sum(axis=2) > 0)[1], numpy.nonzero(moved[:, 0].sum(axis=1) > 0)[1]
    assert set(rows) <= set(range(2, 7)) and set(cols) <= set(range(2, 7))


def test_horizontal_flip_per_image(batch):
    out = RandomHorizontalFlip(p=0.5, seed=3)(batch)
    assert out.shape == batch.shape
    flipped = [numpy.array_equal(o, b[..., ::-1]) for o, b in zip(out, batch)]
    kept = [numpy.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    numpy.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(batch[0]), batch[0][..., ::-1])
    numpy.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(batch), batch)


def test_random_transforms_follow_manual_seed(batch):
    minitl.manual_seed(5)
    first = RandomCrop(20, padding=1)(batch)
    minitl.manual_seed(5)
    numpy.testing.assert_array_equal(RandomCrop(20, padding=1)(batch), first)
    seeded = RandomShift(2, seed=9)
    again = RandomShift(2, seed=9)
    numpy.testing.assert_array_equal(seeded(batch), again(batch))


def test_resize_arrays_and_pil(batch):
    out = Resize(14)(batch)
    assert out.shape == (8, 1, 14, 14) and out.dtype == numpy.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert Resize((10, 20))(batch[0]).shape == (1, 10, 20)
    constant = numpy.full((1, 8, 8), 0.25, numpy.float32)
    numpy.testing.assert_allclose(Resize(4)(constant), 0.25, atol=1e-6)
    image = Image.new("RGB", (40, 30))
    assert Resize((15, 20))(image).size == (20, 15)


def test_grayscale_matches_pillow():
    rgb = numpy.random.default_rng(2).integers(0, 256, (6, 5, 3), dtype=numpy.uint8)
    pil = Image.fromarray(rgb)
    from_pil = ToTensor()(Grayscale()(pil))
    from_array = Grayscale()(ToTensor()(pil))
    assert from_array.shape == (1, 6, 5) == from_pil.shape
    numpy.testing.assert_allclose(from_array, from_pil, atol=1 / 255 + 1e-6)
    assert Grayscale()(numpy.zeros((4, 3, 2, 2), numpy.float32)).shape == (4, 1, 2, 2)
    ones = numpy.ones((1, 3, 2, 2), numpy.float32)
    numpy.testing.assert_allclose(Grayscale()(ones), 1.0, rtol=1e-6)
    with pytest.raises(DatasetError, match="alpha"):
        Grayscale()(numpy.zeros((4, 2, 2), numpy.float32))


def test_compose_chain_and_repr(batch):
    pipeline = Compose([RandomShift(2), RandomHorizontalFlip(), Normalize(0.5, 0.5)])
    out = pipeline(batch)
    assert out.shape == batch.shape and out.min() >= -1.0 and out.max() <= 1.0
    assert "RandomShift(max_shift=2)" in repr(pipeline)


def test_batch_transform_is_vectorised_in_dataset():
    images = numpy.zeros((6, 1, 8, 8), numpy.uint8)
    images[:, :, :, :4] = 255  # left half white: a flip moves it right
    dataset = ArrayDataset(images, numpy.zeros(6, numpy.int64),
                           transform=RandomHorizontalFlip(p=1.0))
    out, _ = dataset.get_batch(numpy.arange(6))
    assert numpy.all(out[:, :, :, 4:] == 1.0) and numpy.all(out[:, :, :, :4] == 0.0)
    image, _ = dataset[0]
    assert image.shape == (1, 8, 8) and image[0, 0, 7] == 1.0


def test_bad_input_shape_is_explained():
    with pytest.raises(DatasetError, match="ToTensor"):
        RandomHorizontalFlip()(numpy.zeros((4, 4)))


def test_channel_mean_std_sums_uint8_exactly_in_small_chunks():
    import tracemalloc

    images = numpy.random.default_rng(3).integers(0, 256, (4000, 1, 28, 28), dtype=numpy.uint8)
    dataset = ArrayDataset(images, numpy.zeros(4000, numpy.int64))
    tracemalloc.start()
    (mean,), (std,) = channel_mean_std(dataset)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < images.nbytes, f"peak {peak:,} bytes to measure {images.nbytes:,} bytes"
    total = int(images.sum(dtype=numpy.uint64))
    squares = int((images.astype(numpy.uint64) ** 2).sum())
    count = images.size
    assert mean == total / (count * 255)
    assert std == pytest.approx(((count * squares - total * total) ** 0.5) / (count * 255), rel=1e-12)
    assert channel_mean_std(dataset, chunk_pixels=1000) == channel_mean_std(dataset)


@pytest.mark.parametrize("source, target", [((28, 28), (14, 14)), ((28, 28), (40, 33)),
                                            ((9, 17), (5, 30)), ((8, 8), (8, 3))])
def test_resize_arrays_in_one_vectorised_step_matching_pillow(monkeypatch, source, target):
    images = numpy.random.default_rng(4).random((5, 2) + source, dtype=numpy.float32)
    expected = numpy.stack([[numpy.asarray(Image.fromarray(plane).resize(target[::-1],
                                                                         Image.Resampling.BILINEAR))
                             for plane in image] for image in images])

    def no_pillow(*args, **kwargs):
        raise AssertionError("Resize on arrays should not go through Pillow image by image")
    monkeypatch.setattr(Image, "fromarray", no_pillow)
    out = Resize(target)(images)
    assert out.shape == expected.shape and out.dtype == numpy.float32
    numpy.testing.assert_allclose(out, expected, atol=1e-5)
    numpy.testing.assert_allclose(Resize(target)(images[0]), expected[0], atol=1e-5)


def test_normalize_on_a_plain_2d_array_is_explained():
    with pytest.raises(DatasetError, match="ToTensor"):
        Normalize(0.5, 0.5)(numpy.zeros((4, 4), numpy.float32))
