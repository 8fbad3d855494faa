"""minitl's native .npz + manifest: round trips, manifest contents, integrity and atomic writes."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

import minitl
import minitl.io
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


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("writer", ["save", "save_safetensors", "save_torch"])
def test_written_files_get_the_umask_mode_or_keep_the_old_one(tmp_path, writer):
    # mkstemp makes 0600 files; a weight file should be as readable as open(path, "w") would make it.
    write = getattr(minitl.io, writer)
    path = tmp_path / "w.bin"
    old_mask = os.umask(0o027)
    try:
        write({"w": np.ones(2, np.float32)}, path)
    finally:
        os.umask(old_mask)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    os.chmod(path, 0o604)
    write({"w": np.zeros(2, np.float32)}, path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o604)


def test_compression_bomb_is_refused_before_inflating(tmp_path):
    # 64 MiB of zeros deflate to ~64 kB (1000x): real weights compress ~1.1x.
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (64 << 20,)})
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w.npy", "w") as member:
            member.write(header.getvalue())
            for _ in range(64):
                member.write(bytes(1 << 20))
    with pytest.raises(WeightFormatError, match="bomb.npz.*w.npy.*zip bomb"):
        load(tmp_path / "bomb.npz")


def test_member_size_must_match_its_header_and_compressed_files_load(tmp_path):
    arrays = {"f": np.asfortranarray(np.arange(12.0).reshape(3, 4)), "b": np.arange(5, dtype=">i4"),
              "s": np.float32(3), "e": np.zeros((0, 3))}
    np.savez_compressed(tmp_path / "ok.npz", **arrays)
    loaded = load(tmp_path / "ok.npz")
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype.isnative and loaded[name].flags.c_contiguous and loaded[name].flags.writeable
    with zipfile.ZipFile(tmp_path / "long.npz", "w") as archive:
        archive.writestr("w.npy", _npy(np.ones(3)) + b"extra")
    with pytest.raises(WeightFormatError, match="long.npz.*24 bytes.*29 data bytes"):
        load(tmp_path / "long.npz")
