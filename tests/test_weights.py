"""The shipped-weights registry: names, sha256 checks, a tampered file refused, the head replaced and
reported, the shipped files themselves, and the PyTorch-written .pth read with torch absent."""
import builtins
import io
import json
import sys

import numpy
import pytest

import minitl
from minitl import cli, weights
from minitl.models import SmallCNN, resnet8

SHIPPED = ["fashion-default", "fashion-paired", "fashion-paired-pth"]


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A private weights folder with one SmallCNN entry, made the default through $MINITL_WEIGHTS."""
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(tmp_path))
    model = SmallCNN(num_classes=5)
    record = {"file": "smallcnn-test.npz", "architecture": "SmallCNN", "arguments": dict(model.config),
              "source_classes": [0, 1, 2, 3, 4], "source_class_names": list("abcde"),
              "normalization": {"mean": [0.3], "std": [0.4]}, "source_test_accuracy": 0.5}
    weights.publish(model, "test-weights", record)
    return tmp_path, model


def test_publish_list_and_named_load(registry):
    folder, source = registry
    listed = weights.list()
    assert [r["name"] for r in listed] == ["test-weights"]
    assert listed[0]["sha256"] == weights.sha256_of(folder / "smallcnn-test.npz")
    assert listed[0]["size_bytes"] == (folder / "smallcnn-test.npz").stat().st_size
    model = SmallCNN(num_classes=3, weights="test-weights")
    report = model.load_report
    assert [key for key, _ in report.replaced] == ["head.weight", "head.bias"]
    assert "replaced" in str(report) and "fresh init" in str(report)
    assert report.ok and "head.weight" not in report.loaded
    numpy.testing.assert_array_equal(model.backbone.block2[0].weight.data, source.backbone.block2[0].weight.data)
    # same class count: the head is still replaced, never silently kept
    same = SmallCNN(num_classes=5, weights="test-weights")
    assert not numpy.array_equal(same.head.weight.data, source.head.weight.data)
    kept = weights.source_model("test-weights")
    numpy.testing.assert_array_equal(kept.head.weight.data, source.head.weight.data)


def test_a_tampered_file_is_refused_and_the_model_is_untouched(registry):
    folder, _ = registry
    path = folder / "smallcnn-test.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    model = SmallCNN(num_classes=5)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(weights.WeightChecksumError, match=r"smallcnn-test\.npz.*sha256.*changed"):
        weights.load_named(model, "test-weights")
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key])
    with pytest.raises(weights.WeightChecksumError):
        SmallCNN(num_classes=5, weights="test-weights")


def test_unknown_name_and_wrong_architecture(registry):
    with pytest.raises(KeyError, match="no shipped weights named 'nope'; known: test-weights"):
        weights.entry("nope")
    with pytest.raises(ValueError, match="are for SmallCNN, not ResNet"):
        resnet8(num_classes=5, weights="test-weights")


def test_cli_weights_and_inspect_show_the_manifest(registry):
    folder, _ = registry
    out = io.StringIO()
    assert cli.main(["weights"], out=out) == 0
    assert "test-weights" in out.getvalue() and "a, b, c, d, e" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["inspect", str(folder / "smallcnn-test.npz")], out=out) == 0
    text = out.getvalue()
    assert "backbone.block1.0.weight" in text and "manifest entry 'test-weights'" in text
    assert "mean / std            [0.3] / [0.4]" in text and "50.00%" in text


def test_cli_pretrain_writes_file_and_entry(tmp_path):
    out = io.StringIO()
    assert cli.main(["pretrain", "--split", "default", "--steps", "2", "--batch-size", "16",
                            "--subset", "mini", "--out", str(tmp_path)], out=out) == 0
    record = weights.entry("fashion-default", tmp_path)
    assert record["source_class_names"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    assert record["target_classes"] == [5, 6, 7, 8, 9]
    assert record["recipe"]["steps"] == 2 and record["recipe"]["momentum"] == 0.9
    assert record["recipe"]["weight_decay"] == 0.0005 and record["recipe"]["minitl_version"] == minitl.__version__
    assert 0.0 <= record["source_test_accuracy"] <= 1.0
    assert weights.verified_path("fashion-default", tmp_path).name == "smallcnn-fashion-default.npz"


# ----- what ships in weights/ -----
def test_shipped_weights_are_listed_and_load_with_their_checksums():
    names = [r["name"] for r in weights.list()]
    assert set(SHIPPED) <= set(names)
    for name in SHIPPED:
        record = weights.entry(name)
        path = weights.verified_path(name)  # sha256 checked
        assert 100_000 < path.stat().st_size < 1_000_000  # a few hundred KB
        assert record["architecture"] == "SmallCNN" and len(record["source_classes"]) == 5
    paired = weights.entry("fashion-paired")
    assert paired["source_class_names"] == ["T-shirt/top", "Trouser", "Pullover", "Sandal", "Sneaker"]
    assert paired["target_class_names"] == ["Dress", "Coat", "Shirt", "Bag", "Ankle boot"]
    model = SmallCNN(num_classes=5, weights="fashion-paired")
    assert [key for key, _ in model.load_report.replaced] == ["head.weight", "head.bias"]


def test_shipped_weights_reach_their_recorded_accuracy_on_the_bundled_sample():
    from minitl.data import DataLoader, Normalize, fashion_split

    for name, split in (("fashion-paired", "paired-source"), ("fashion-default", "A")):
        record = weights.entry(name)
        model = weights.source_model(name)
        test = fashion_split(split, train=False, subset="mini")
        test.transform = Normalize(**record["normalization"])
        accuracy = minitl.train.evaluate(model, DataLoader(test, batch_size=500))["accuracy"]
        assert abs(accuracy - record["source_test_accuracy"]) < 0.04, name


def test_the_pth_written_by_pytorch_loads_with_torch_absent(monkeypatch):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return real_import(name, *args, **kwargs)

    for module in [m for m in list(sys.modules) if m == "torch" or m.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError):
        import torch  # noqa: F401
    record = weights.entry("fashion-paired-pth")
    assert record["written_by"].startswith("torch.save")
    from_pth = weights.source_model("fashion-paired-pth")
    from_npz = weights.source_model("fashion-paired")
    for (key, a), b in zip(from_npz.state_dict().items(), from_pth.state_dict().values()):
        numpy.testing.assert_array_equal(a, b, err_msg=key)
    assert minitl.io.read_weights(weights.verified_path("fashion-paired-pth")).format != "minitl"


def test_shipped_manifest_is_plain_json():
    document = json.loads((weights.folder() / weights.MANIFEST).read_text())
    assert document["format"] == weights.REGISTRY_FORMAT
    for name, record in document["weights"].items():
        assert {"file", "architecture", "arguments", "source_classes", "source_class_names", "normalization",
                "recipe", "source_test_accuracy", "sha256", "size_bytes"} <= set(record), name
        assert {"epochs", "batch_size", "lr_schedule", "momentum", "weight_decay", "seed",
                "minitl_version"} <= set(record["recipe"]), name


# ----- where the folder is: an installed copy, a checkout, $MINITL_WEIGHTS -----
def test_an_installed_copy_finds_the_weights_its_wheel_carries(tmp_path, monkeypatch, registry):
    # a wheel holds minitl/_shipped_weights/ (copied from weights/ by setup.py); no checkout beside it
    private, _ = registry
    monkeypatch.delenv(weights.WEIGHTS_ENV)
    installed = tmp_path / "site-packages" / "minitl" / "_shipped_weights"
    installed.mkdir(parents=True)
    for name in (weights.MANIFEST, "smallcnn-test.npz"):
        (installed / name).write_bytes((private / name).read_bytes())
    monkeypatch.setattr(weights, "SHIPPED", installed)
    monkeypatch.setattr(weights, "CHECKOUT", tmp_path / "site-packages" / "weights")
    assert weights.folder() == installed
    assert weights.verified_path("test-weights") == installed / "smallcnn-test.npz"  # sha256 checked there
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(private))  # the variable still wins
    assert weights.folder() == private


def test_a_checkout_without_an_installed_copy_uses_its_top_level_weights_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(weights, "SHIPPED", tmp_path / "no-such-folder")
    assert weights.folder() == weights.CHECKOUT
    assert (weights.CHECKOUT / weights.MANIFEST).is_file() and weights.CHECKOUT.parent.joinpath("minitl").is_dir()


def test_the_digits_weights_ship_with_their_recipe_and_reach_their_accuracy():
    from minitl.data import MNIST, MNIST_CLASSES, DataLoader, Normalize

    record = weights.entry("digits")
    path = weights.verified_path("digits")  # sha256 checked
    assert 100_000 < path.stat().st_size < 1_000_000 and record["source_class_names"] == list(MNIST_CLASSES)
    assert record["recipe"]["epochs"] == 5 and record["recipe"]["lr"] == 0.05 and record["recipe"]["seed"] == 0
    test = MNIST(train=False, subset="mini", transform=Normalize(**record["normalization"]))
    accuracy = minitl.train.evaluate(weights.source_model("digits"), DataLoader(test, batch_size=500))["accuracy"]
    assert accuracy == pytest.approx(record["source_test_accuracy"], abs=0.002)  # the very images it was scored on
    assert SmallCNN(num_classes=5, weights="digits").load_report.replaced[0][0] == "head.weight"


def test_cli_pretrain_on_a_whole_data_set(tmp_path):
    assert cli.main(["pretrain", "--split", "digits", "--steps", "2", "--batch-size", "16", "--subset", "mini",
                     "--out", str(tmp_path)], out=io.StringIO()) == 0
    record = weights.entry("digits", tmp_path)
    assert record["file"] == "smallcnn-digits.npz" and record["source_classes"] == list(range(10))
    assert record["target_classes"] == [] and record["dataset"] == "mnist-mini"
    assert record["recipe"]["train_images"] == 4000 and record["source_test_images"] == 1000
