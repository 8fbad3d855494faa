"""FashionMNIST: the folder search order, the not-found message, the bundled sample, the full set."""
import numpy
import pytest

from minitl.data import FASHION_MNIST_CLASSES, FashionMNIST, fashion_mnist, fashion_mnist_mini, write_idx
from minitl.data.errors import DatasetError, DatasetNotFoundError
from module_from_file import module_from_file


def make_fake_set(folder, marker, gz=True):
    """Four tiny IDX files; every label equals ``marker`` so a test can tell the folders apart."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, count in (("train", 6), ("test", 3)):
        images_stem, labels_stem = fashion_mnist.FILES[split]
        write_idx(folder / (images_stem + suffix), numpy.full((count, 28, 28), marker, numpy.uint8))
        write_idx(folder / (labels_stem + suffix), numpy.full(count, marker, numpy.uint8))
    return folder


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Isolated search places: HOME, MINITL_DATA and the Debian folder all under tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINITL_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "debian"))
    return {"root": tmp_path / "root", "data": tmp_path / "data",
            "cache": tmp_path / "home" / ".cache" / "minitl" / "fashion-mnist",
            "debian": tmp_path / "debian"}


def test_search_order(places, monkeypatch):
    for marker, name in enumerate(["debian", "cache", "data", "root"], start=1):
        folder = places[name] / "fashion-mnist" if name == "data" else places[name]
        make_fake_set(folder, marker, gz=(name != "cache"))
    monkeypatch.setenv("MINITL_DATA", str(places["data"]))
    assert FashionMNIST(root=places["root"]).labels[0] == 4
    assert FashionMNIST().labels[0] == 3          # $MINITL_DATA/fashion-mnist
    monkeypatch.delenv("MINITL_DATA")
    assert FashionMNIST(train=False).labels[0] == 2  # the cache, unpacked files
    assert len(FashionMNIST(train=False)) == 3
    for path in places["cache"].iterdir():
        path.unlink()
    data = FashionMNIST()
    assert data.labels[0] == 1 and data.folder == places["debian"]


def test_minitl_data_may_point_at_the_folder_itself(places, monkeypatch):
    make_fake_set(places["data"], 7)
    monkeypatch.setenv("MINITL_DATA", str(places["data"]))
    assert FashionMNIST().labels[0] == 7


def test_incomplete_folder_is_passed_over(places):
    make_fake_set(places["cache"], 1)
    (places["cache"] / "t10k-labels-idx1-ubyte.gz").unlink()
    make_fake_set(places["debian"], 2)
    assert FashionMNIST().labels[0] == 2


def test_an_explicit_root_is_the_only_place_looked_at(places):
    # issue 15: a root lacking the test files used to be passed over for the Debian copy, silently
    make_fake_set(places["root"], 1)
    (places["root"] / "t10k-labels-idx1-ubyte.gz").unlink()
    make_fake_set(places["debian"], 2)
    with pytest.raises(DatasetNotFoundError) as caught:
        FashionMNIST(root=places["root"])
    assert str(places["root"]) in str(caught.value) and str(places["debian"]) not in str(caught.value).split(
        "Three ways")[0]


def test_not_found_lists_three_ways(places):
    with pytest.raises(DatasetNotFoundError) as caught:
        FashionMNIST()
    message = str(caught.value)
    assert str(places["cache"]) in message and str(places["debian"]) in message
    for way in ("apt-get install dataset-fashion-mnist", "download=True", "MINITL_DATA",
                "subset='mini'"):
        assert way in message


def test_fashion_mnist_items(places):
    make_fake_set(places["root"], 3)
    data = FashionMNIST(root=places["root"])
    image, label = data[0]
    assert image.shape == (1, 28, 28) and image.dtype == numpy.float32 and label == 3
    assert data.images.dtype == numpy.uint8 and data.labels.dtype == numpy.int64
    assert data.classes == list(FASHION_MNIST_CLASSES)


def test_auto_falls_back_to_bundled_with_warning(places):
    with pytest.warns(UserWarning, match="bundled sample"):
        data = FashionMNIST(subset="auto")
    assert data.folder is None and len(data) == 10_000
    make_fake_set(places["debian"], 1)
    assert len(FashionMNIST(subset="auto")) == 6
    with pytest.raises(DatasetError, match="subset"):
        FashionMNIST(subset="tiny")


def test_bundled_sample_counts_balance_and_size():
    train, test = fashion_mnist_mini(), FashionMNIST(train=False, subset="mini")
    assert (len(train), len(test)) == (10_000, 3_000)
    assert list(train.class_counts().values()) == [1000] * 10
    assert list(test.class_counts().values()) == [300] * 10
    assert train.images.shape == (10_000, 1, 28, 28) and train.images.dtype == numpy.uint8
    assert train.classes[9] == "Ankle boot"
    assert 0.2 < train.images.mean() / 255 < 0.4  # real clothes, not blank images
    bundled = fashion_mnist.resources.files("minitl.data").joinpath("bundled")
    assert bundled.joinpath(fashion_mnist.BUNDLED_FILE).stat().st_size <= 5_000_000
    assert "MIT License" in bundled.joinpath("LICENSE-fashion-mnist.txt").read_text(encoding="utf-8")


full_set = fashion_mnist.find_fashion_mnist()
needs_full_set = pytest.mark.skipif(
    full_set is None, reason="full Fashion-MNIST absent (apt-get install dataset-fashion-mnist)")


@needs_full_set
def test_full_set_shapes_and_balance():
    train, test = FashionMNIST(), FashionMNIST(train=False)
    assert train.images.shape == (60_000, 1, 28, 28) and len(test) == 10_000
    assert list(train.class_counts().values()) == [6000] * 10
    assert list(test.class_counts().values()) == [1000] * 10


@needs_full_set
def test_bundled_images_are_the_official_ones():
    for split, train in (("train", True), ("test", False)):
        with fashion_mnist.resources.as_file(fashion_mnist.resources.files("minitl.data").joinpath(
                "bundled").joinpath(fashion_mnist.BUNDLED_FILE)) as path, numpy.load(path) as archive:
            indices = archive[f"{split}_indices"]
        full, mini = FashionMNIST(train=train), FashionMNIST(train=train, subset="mini")
        numpy.testing.assert_array_equal(full.images[indices], mini.images)
        numpy.testing.assert_array_equal(full.labels[indices], mini.labels)


def load_build_script(monkeypatch, argv):
    script = module_from_file("scripts/build_fashion_mnist_mini.py")
    monkeypatch.setattr("sys.argv", [script.__file__] + argv)
    return script


def make_labelled_set(folder):
    """Four IDX files with every class present: 40 training and 20 test images."""
    folder.mkdir(parents=True)
    for split, count in (("train", 40), ("test", 20)):
        images_stem, labels_stem = fashion_mnist.FILES[split]
        write_idx(folder / (images_stem + ".gz"), numpy.arange(count * 784, dtype=numpy.int64)
                  .reshape(count, 28, 28).astype(numpy.uint8))
        write_idx(folder / (labels_stem + ".gz"), numpy.arange(count, dtype=numpy.uint8) % 10)
    return folder


def test_build_script_checks_the_size_before_replacing_the_output(tmp_path, monkeypatch, capsys):
    from minitl.data.splits import few_shot_indices

    root = make_labelled_set(tmp_path / "full")
    output = tmp_path / "out" / "mini.npz"
    output.parent.mkdir()
    output.write_bytes(b"the shipped file")
    argv = ["--root", str(root), "--train-per-class", "3", "--test-per-class", "1",
            "--output", str(output)]
    script = load_build_script(monkeypatch, argv)
    monkeypatch.setattr(script, "SIZE_LIMIT", 100)
    with pytest.raises(SystemExit, match="limit"):
        script.main()
    assert output.read_bytes() == b"the shipped file" and len(list(output.parent.iterdir())) == 1
    script = load_build_script(monkeypatch, argv)
    script.main()
    with numpy.load(output) as archive:
        rng = numpy.random.default_rng(20170828)
        labels = numpy.arange(40) % 10
        numpy.testing.assert_array_equal(archive["train_indices"], few_shot_indices(labels, 3, rng))
        numpy.testing.assert_array_equal(archive["test_indices"],
                                         few_shot_indices(numpy.arange(20) % 10, 1, rng))
    assert len(list(output.parent.iterdir())) == 1
