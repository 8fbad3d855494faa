"""ImageFolder on temporary folders of PNG/JPEG files written with Pillow, corrupt files included."""
import warnings

import numpy
import pytest
from PIL import Image

from minitl.data import DataLoader, ImageFolder, Normalize, RandomHorizontalFlip, few_shot
from minitl.data.errors import DatasetError, ImageFolderError


def write_images(root, spec):
    """spec: {class name: [(file name, mode, (width, height), fill)]}."""
    for name, files in spec.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for filename, mode, size, fill in files:
            Image.new(mode, size, fill).save(root / name / filename)
    return root


@pytest.fixture
def folder(tmp_path):
    return write_images(tmp_path / "photos", {
        "sneaker": [("a.png", "RGB", (40, 30), (255, 0, 0)), ("b.jpg", "RGB", (20, 20), (0, 0, 255))],
        "bag": [("c.png", "L", (28, 28), 128), ("d.png", "RGBA", (10, 12), (0, 255, 0, 255))],
    })


def test_classes_sorted_labels_and_shapes(folder):
    data = ImageFolder(folder, size=28)
    assert data.classes == ["bag", "sneaker"] and len(data) == 4
    numpy.testing.assert_array_equal(data.labels, [0, 0, 1, 1])
    image, label = data[2]
    assert image.shape == (3, 28, 28) and image.dtype == numpy.float32 and label == 1
    assert image[0].mean() == pytest.approx(1.0) and image[1].max() == 0.0  # the red PNG
    assert "4 images" in repr(data)


def test_grayscale_and_size_give_fashion_mnist_form(folder):
    data = ImageFolder(folder, grayscale=True, size=(28, 28))
    images, labels = data.get_batch(numpy.arange(4))
    assert images.shape == (4, 1, 28, 28) and labels.dtype == numpy.int64
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert images[1, 0].mean() == pytest.approx(round(0.587 * 255) / 255, abs=1 / 255)


def test_grayscale_auto_detects_single_channel(tmp_path):
    root = write_images(tmp_path, {"x": [("a.png", "L", (5, 5), 0)], "y": [("b.png", "L", (5, 5), 255)]})
    assert ImageFolder(root)[0][0].shape == (1, 5, 5)


def test_own_sizes_need_size_for_a_batch(folder):
    data = ImageFolder(folder)
    assert data[0][0].shape == (3, 28, 28) and data[3][0].shape == (3, 20, 20)
    with pytest.raises(DatasetError, match="size="):
        data.get_batch(numpy.arange(4))


def test_corrupt_file_raises_with_its_name(folder):
    (folder / "bag" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ImageFolderError, match=r"(?s)1 file.*broken\.png.*on_error='skip'"):
        ImageFolder(folder, size=28)


def test_truncated_png_is_caught(folder):
    good = (folder / "bag" / "c.png").read_bytes()
    (folder / "bag" / "half.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageFolderError, match="half.png"):
        ImageFolder(folder, size=28)


def test_corrupt_file_skipped_with_warning(folder):
    (folder / "sneaker" / "broken.jpg").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="broken.jpg"):
        data = ImageFolder(folder, size=28, on_error="skip")
    assert len(data) == 4 and [path for path, _ in data.skipped][0].endswith("broken.jpg")


def test_non_image_and_hidden_files_ignored(folder):
    (folder / "bag" / "notes.txt").write_text("not an image")
    (folder / "bag" / ".DS_Store").write_bytes(b"\0\0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ImageFolder(folder, size=28)) == 4


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(ImageFolderError, match="not a folder"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(ImageFolderError, match="no readable images"):
        ImageFolder(tmp_path)
    with pytest.raises(ImageFolderError, match="sub-folders"):
        ImageFolder(tmp_path / "a")


def test_transform_loader_splits_and_to_array_dataset(folder):
    data = ImageFolder(folder, grayscale=True, size=8,
                       transform=RandomHorizontalFlip(p=1.0))
    images, labels = next(iter(DataLoader(data, batch_size=4)))
    assert images.shape == (4, 1, 8, 8) and labels.shape == (4,)
    shots = few_shot(data, 1, seed=0)
    assert shots.class_counts() == {"bag": 1, "sneaker": 1} and shots.classes == data.classes
    arrays = data.to_array_dataset()
    assert arrays.images.dtype == numpy.uint8 and arrays.images.shape == (4, 1, 8, 8)
    numpy.testing.assert_allclose(arrays.get_batch(numpy.arange(4))[0], data.get_batch(numpy.arange(4))[0],
                                  atol=1e-6)
    assert len(Normalize.from_dataset(data).mean) == 1
