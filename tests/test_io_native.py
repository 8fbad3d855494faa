"""minitl's native .npz + manifest: round trips, manifest contents, integrity and atomic writes."""
import json
import os
import zipfile

import numpy as np
import pytest

import minitl
import minitl.models
from minitl.io import WeightFormatError, load, load_into, save


def test_model_round_trip_with_manifest(tmp_path):
    minitl.manual_seed(0)
    model = minitl.models.SmallCNN(num_classes=5)
    path = tmp_path / "small.npz"
    save(model, path, meta={"arguments": {"num_classes": 5}, "class_names": list("abcde"),
                            "mean": np.array([0.286]), "std": [0.353], "recipe": "demo"})
    weights = load(path)
    original = model.state_dict()
    assert list(weights) == list(original)
    for name, array in original.items():
        assert weights[name].dtype == array.dtype and weights[name].shape == array.shape
        np.testing.assert_array_equal(weights[name], array)
    manifest = weights.meta
    assert manifest["architecture"] == "SmallCNN" and manifest["arguments"] == {"num_classes": 5}
    assert manifest["class_names"] == list("abcde") and manifest["normalization"]["mean"] == [0.286]
    assert manifest["extra"] == {"recipe": "demo"} and "minitl_version" in manifest
    assert all(len(entry["sha256"]) == 64 for entry in manifest["arrays"])
    with np.load(path, allow_pickle=False) as plain:  # still an ordinary npz
        np.testing.assert_array_equal(plain["head.weight"], original["head.weight"])
    minitl.manual_seed(1)
    other = minitl.models.SmallCNN(num_classes=5)
    assert load_into(other, path).ok
    np.testing.assert_array_equal(other.state_dict()["head.bias"], original["head.bias"])


def test_plain_npz_without_manifest_loads(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(3), b=np.arange(4).reshape(2, 2))
    weights = load(tmp_path / "plain.npz")
    assert list(weights) == ["a", "b"] and weights.meta == {}


def test_edited_array_fails_the_checksum(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.zeros(4, np.float32)}, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["w.npy"] = members["w.npy"][:-4] + np.float32(1).tobytes()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(WeightFormatError, match="w.npz.*'w' fails its sha256"):
        load(path)


def test_manifest_disagreeing_with_members_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.zeros(2)}, path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("x.npy", _npy(np.ones(1)))
    with pytest.raises(WeightFormatError, match="disagree"):
        load(path)


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_truncated_and_non_zip_files(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.arange(100.0)}, path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.npz").write_bytes(b"not a zip at all")
    for name in ("cut.npz", "text.npz"):
        with pytest.raises(WeightFormatError, match=name):
            load(tmp_path / name)


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.ones(2)}, path)
    before = path.read_bytes()

    class Exploding:
        def state_dict(self):
            return {"w": np.ones(2), "bad": object()}

    with pytest.raises(TypeError):
        save(Exploding(), path)
    with pytest.raises(TypeError):
        save({"w": np.ones(2)}, tmp_path / "x.npz", meta={"mean": object()})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]


def test_manifest_is_readable_json(tmp_path):
    save({"w": np.ones(2, np.float32)}, tmp_path / "w.npz")
    with zipfile.ZipFile(tmp_path / "w.npz") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "minitl-weights" and manifest["arrays"][0]["shape"] == [2]
