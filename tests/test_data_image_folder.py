"""ImageFolder on temporary folders of PNG/JPEG files written with Pillow, corrupt files included."""
import io
import os
import warnings

import numpy
import pytest
from PIL import Image

from minitl.data import DataLoader, ImageFolder, Normalize, RandomHorizontalFlip, ToTensor, few_shot, train_val_split
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


def test_hidden_files_ignored(folder):
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


def noise(size, mode="RGB", seed=0):
    """A Pillow image of random pixels (noise does not compress, so a cut file is really cut)."""
    channels = {"RGB": 3, "L": 1}[mode]
    shape = (size[1], size[0]) + ((channels,) if channels > 1 else ())
    return Image.fromarray(numpy.random.default_rng(seed).integers(0, 256, shape, dtype=numpy.uint8))


def test_truncated_jpeg_is_caught_when_built(folder):
    buffer = io.BytesIO()
    noise((64, 64)).save(buffer, "JPEG", quality=95)
    (folder / "bag" / "half.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
    with pytest.raises(ImageFolderError, match="half.jpg"):
        ImageFolder(folder, size=28)
    with pytest.warns(UserWarning, match="half.jpg"):
        data = ImageFolder(folder, size=28, on_error="skip")
    assert len(data) == 4 and data.get_batch(numpy.arange(4))[0].shape == (4, 3, 28, 28)


def test_sixteen_bit_palette_and_la_decode_alike_in_image_folder_and_to_tensor(tmp_path):
    deep = (numpy.arange(64, dtype=numpy.uint16) * 1000).reshape(8, 8)  # 0 .. 63000 of 65535
    palette = Image.fromarray(numpy.array([[[255, 0, 0], [0, 0, 255]]] * 2, numpy.uint8)).convert("P")
    grey_alpha = Image.fromarray(numpy.full((2, 2, 2), 200, numpy.uint8), "LA")
    (tmp_path / "deep").mkdir()
    (tmp_path / "colour").mkdir()
    Image.fromarray(deep).save(tmp_path / "deep" / "a.png")
    palette.save(tmp_path / "colour" / "p.png")
    grey_alpha.save(tmp_path / "colour" / "la.png")
    data = ImageFolder(tmp_path)
    with Image.open(tmp_path / "deep" / "a.png") as image:
        assert image.mode.startswith("I;16")
        numpy.testing.assert_allclose(data.load(2)[0], deep / 65535, atol=0.5 / 255 + 1e-6)
        numpy.testing.assert_array_equal(ToTensor()(image), ImageFolder(tmp_path, grayscale=True).load(2))
    assert ToTensor()(palette).shape == (3, 2, 2) and ToTensor()(palette)[0, 0, 0] == 1.0  # red stays red
    assert ToTensor()(grey_alpha).shape == (1, 2, 2)
    assert ImageFolder(tmp_path, grayscale=True).load(0).shape == (1, 2, 2)  # la.png: one channel
    numpy.testing.assert_allclose(ToTensor()(numpy.full((1, 2, 2), 51, numpy.int64)), 0.2, rtol=1e-6)
    with pytest.raises(DatasetError, match="0..255"):
        ToTensor()(numpy.full((1, 2, 2), 300, numpy.int64))


def test_files_in_hidden_sub_folders_are_left_out(folder):
    (folder / "bag" / ".thumbs").mkdir()
    Image.new("L", (4, 4)).save(folder / "bag" / ".thumbs" / "c.png")
    (folder / "sneaker" / ".AppleDouble" / "deep").mkdir(parents=True)
    Image.new("L", (4, 4)).save(folder / "sneaker" / ".AppleDouble" / "deep" / "a.png")
    data = ImageFolder(folder, size=28)
    assert len(data) == 4 and not any("/." in path for path in data.files)


def test_split_parts_have_their_own_transform(folder):
    data = ImageFolder(folder, grayscale=True, size=8, transform=RandomHorizontalFlip(p=1.0))
    train, val = train_val_split(data, 0.5, seed=0)
    assert val.transform is data.transform  # by default a part augments like its parent
    val.transform = None
    plain = data.load(int(val.indices[0]))
    numpy.testing.assert_array_equal(val[0][0], plain)
    numpy.testing.assert_array_equal(val.get_batch([0])[0][0], plain)
    numpy.testing.assert_array_equal(train[0][0], data.load(int(train.indices[0]))[..., ::-1])
    assert data.transform is not None and train.transform is data.transform


def test_to_array_dataset_decodes_straight_to_uint8(tmp_path):
    import tracemalloc

    (tmp_path / "x").mkdir()
    for index in range(300):
        noise((48, 48), "L", seed=index).save(tmp_path / "x" / f"{index:03d}.png")
    data = ImageFolder(tmp_path)
    stored_bytes = 300 * 48 * 48
    tracemalloc.start()
    arrays = data.to_array_dataset()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert arrays.images.dtype == numpy.uint8 and arrays.images.nbytes == stored_bytes
    assert peak < 2 * stored_bytes, f"peak {peak:,} bytes for {stored_bytes:,} bytes of pixels"
    numpy.testing.assert_array_equal(arrays.load(7), data.load(7))


def test_unknown_extensions_are_named_in_one_warning(folder):
    (folder / "bag" / "notes.txt").write_text("not an image")
    (folder / "sneaker" / "scan.heic").write_bytes(b"\0\0")
    with pytest.warns(UserWarning, match=r"(?s)2 file.*notes\.txt.*scan\.heic") as record:
        ImageFolder(folder, size=28)
    assert len(record) == 1


def test_exif_orientation_is_applied(tmp_path):
    (tmp_path / "x").mkdir()
    image = Image.new("L", (6, 4), 0)  # stored 6 wide, 4 high; the tag says "rotate 90 degrees"
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / "x" / "phone.jpg", exif=exif)
    assert ImageFolder(tmp_path).load(0).shape == (1, 6, 4)


# ----- issue 15: folders from anyone -----

def test_a_postscript_file_named_png_never_reaches_the_eps_plugin(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "cats" / "ok.png")
    (tmp_path / "cats" / "cat.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\nshowpage\n")
    (tmp_path / "cats" / "doc.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\nshowpage\n")
    with pytest.warns(UserWarning) as caught:
        data = ImageFolder(tmp_path, on_error="skip")
    assert data.files == [str(tmp_path / "cats" / "ok.png")]
    # identified by no plugin at all (the EPS plugin would have said "Ghostscript" or decoded it)
    assert [reason.split(":")[0] for _, reason in data.skipped] == ["UnidentifiedImageError"]
    assert any("doc.eps" in str(w.message) and "extension" in str(w.message) for w in caught)


def test_the_declared_size_is_checked_before_decoding(tmp_path, monkeypatch):
    from minitl.data import image_folder

    (tmp_path / "big").mkdir()
    Image.new("RGBA", (40, 30)).save(tmp_path / "big" / "wide.png")
    Image.new("RGBA", (10, 10)).save(tmp_path / "big" / "small.png")
    monkeypatch.setattr(image_folder, "MAX_IMAGE_PIXELS", 1000)  # stands in for 50 MP: 40x30 is over it
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size) or real_load(self))
    with pytest.warns(UserWarning, match="skipping 1 unreadable"):
        data = ImageFolder(tmp_path, on_error="skip")
    assert data.files == [str(tmp_path / "big" / "small.png")]
    assert "40x30 pixels, over the limit of 1000" in data.skipped[0][1]
    assert (40, 30) not in decoded


def test_a_class_folder_1100_levels_deep_is_walked_without_recursion(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    for _ in range(1100):  # one level at a time: os.makedirs and Path.mkdir(parents=True) recurse
        folder = folder / "d"
        os.mkdir(str(folder))
    Image.new("L", (3, 3)).save(folder / "x.png")
    (tmp_path / "deep" / ".hidden").mkdir()
    Image.new("L", (3, 3)).save(tmp_path / "deep" / ".hidden" / "y.png")
    try:
        data = ImageFolder(tmp_path)
        assert data.classes == ["deep"] and data.files == [str(folder / "x.png")]
    finally:  # shutil.rmtree (pytest's clean-up of old tmp folders) recurses too: take the tree down here
        os.unlink(folder / "x.png")
        while folder != tmp_path / "deep":
            os.rmdir(folder)
            folder = folder.parent
