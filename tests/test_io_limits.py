"""One byte budget per file, and the shape check that stops early (issue 15, findings 3-5, 6, 12, 13, 17).

Each test crafts a small file that used to cost gigabytes, hang, or leak a foreign exception type,
scaled down so that the old code would spend tens of megabytes at most: the tests stay fast and
safe on a shared machine while still failing on the old code (a load that succeeded, or an
exception of the wrong type).
"""
import io
import json
import os
import struct
import time
import zipfile

import numpy as np
import pytest

from hostile import peak_python_bytes, storages_pickle, write_zip
from minitl.io import WeightFormatError, keras_h5, load, load_keras, load_onnx, load_safetensors, load_torch
from minitl.io.limits import MAX_TENSORS, SLACK_BYTES, ByteBudget, shape_fits

EIGHT_MIB = 8 << 20


def test_the_slack_is_charged_once_per_torch_file_not_per_storage(tmp_path):
    # three 8 MiB storages of zeros deflate to ~24 kB; each alone is under the 16 MiB slack
    members = {"archive/data.pkl": storages_pickle([str(i) for i in range(3)], EIGHT_MIB // 4),
               "archive/byteorder": b"little"}
    members.update({f"archive/data/{i}": bytes(EIGHT_MIB) for i in range(3)})
    error, peak = peak_python_bytes(load_torch, write_zip(tmp_path / "zeros.pt", members))
    assert isinstance(error, WeightFormatError) and "zeros.pt" in str(error) and "cap" in str(error)
    assert peak < 2 * SLACK_BYTES


def test_the_slack_is_charged_once_per_npz_file(tmp_path):
    members = {}
    for i in range(3):
        member = io.BytesIO()
        np.save(member, np.zeros(EIGHT_MIB // 4, np.float32))
        members[f"w{i}.npy"] = member.getvalue()
    error, peak = peak_python_bytes(load, write_zip(tmp_path / "zeros.npz", members))
    assert isinstance(error, WeightFormatError) and "zeros.npz" in str(error) and "member w" in str(error)
    assert peak < 2 * SLACK_BYTES


def test_hdf5_datasets_never_written_are_paid_from_one_budget(tmp_path):
    h5py = pytest.importorskip("h5py")
    for compression in (None, "gzip"):
        path = tmp_path / f"fill-{compression}.weights.h5"
        with h5py.File(path, "w") as f:
            for i in range(3):  # chunked, never written: HDF5 reads them as the fill value, 0 bytes stored
                f.create_dataset(f"layers/dense_{i}/vars/0", shape=(EIGHT_MIB // 4,), dtype="f4", chunks=(4096,),
                                 compression=compression)
        assert path.stat().st_size < 100_000
        with pytest.raises(WeightFormatError, match=f"fill-{compression}.weights.h5.*over this file's cap"):
            load_keras(path)


def test_byteorder_record_is_size_checked(tmp_path):
    members = {"archive/data.pkl": storages_pickle(["0"], 1), "archive/data/0": bytes(4),
               "archive/byteorder": b"little" + b" " * 100_000}
    with pytest.raises(WeightFormatError, match="byteorder.*16-byte limit"):
        load_torch(write_zip(tmp_path / "order.pt", members))


class CountingShape(tuple):
    """A shape that counts the entries a reader looks at (the work, not the seconds)."""

    def __iter__(self):
        self.entries_read = getattr(self, "entries_read", 0)
        for dim in tuple.__iter__(self):
            self.entries_read += 1
            yield dim

    def __getitem__(self, index):
        self.entries_read = getattr(self, "entries_read", 0) + 1
        return tuple.__getitem__(self, index)


def test_shape_fits_refuses_long_shapes_before_multiplying():
    long_shape = CountingShape((1,) * 1_500_000)
    assert not shape_fits(long_shape, 4)     # used to be True after a product over 1.5M entries
    assert getattr(long_shape, "entries_read", 0) == 0  # refused on its length alone
    huge = CountingShape((2 ** 40,) * 60 + ("x",))
    assert not shape_fits(huge, 4)  # stops past 2**63 before reaching the bad entry
    assert huge.entries_read == 2  # 4 * 2**40 * 2**40 is past 2**63 at the second entry
    assert shape_fits((0, 3, 5), 4) and not shape_fits((True,), 4)


def _safetensors(header: dict, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_a_safetensors_shape_of_a_million_dimensions_is_refused(tmp_path):
    path = tmp_path / "long.safetensors"
    path.write_bytes(_safetensors({"w": {"dtype": "F32", "shape": [1] * 100_000, "data_offsets": [0, 4]}}, bytes(4)))
    with pytest.raises(WeightFormatError, match="long.safetensors.*shape must be"):
        load_safetensors(path)


def test_safetensors_tensor_count_is_capped(tmp_path):
    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(MAX_TENSORS + 1)}
    path = tmp_path / "many.safetensors"
    path.write_bytes(_safetensors(header))
    with pytest.raises(WeightFormatError, match="many.safetensors.*65536 tensors"):
        load_safetensors(path)


def test_safetensors_dtype_that_is_an_object_is_a_format_error(tmp_path):
    path = tmp_path / "obj.safetensors"
    path.write_bytes(_safetensors({"w": {"dtype": {"a": 1}, "shape": [1], "data_offsets": [0, 4]}}, bytes(4)))
    with pytest.raises(WeightFormatError, match="obj.safetensors.*unknown dtype"):
        load_safetensors(path)


@pytest.mark.parametrize("dtype", ["|S5", "<U3", "|V4"])
def test_npz_refuses_non_numeric_dtypes(tmp_path, dtype):
    np.savez(tmp_path / "text.npz", w=np.zeros(3, dtype=dtype))
    with pytest.raises(WeightFormatError, match="text.npz.*not a numeric"):
        load(tmp_path / "text.npz")


def test_npz_with_a_malformed_header_is_a_format_error(tmp_path):
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (\"1, ), }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(4)
    with pytest.raises(WeightFormatError, match="bad.npz"):
        load(write_zip(tmp_path / "bad.npz", {"w.npy": member}))


def test_keras_zip_with_a_deep_config_is_a_format_error(tmp_path):
    h5py = pytest.importorskip("h5py")
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        f["layers/dense/vars/0"] = np.ones(2, np.float32)
    path = write_zip(tmp_path / "deep.keras", {"model.weights.h5": weights.getvalue(),
                                               "config.json": b"[" * 200_000 + b"]" * 200_000})
    with pytest.raises(WeightFormatError, match="deep.keras"):
        load_keras(path)


def test_keras_zip_with_an_unknown_compression_method_is_a_format_error(tmp_path):
    path = write_zip(tmp_path / "method.keras", {"model.weights.h5": b"x" * 100}, zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central method fields
        at = raw.index(signature)
        raw[at + offset:at + offset + 2] = struct.pack("<H", 99)
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightFormatError, match="method.keras"):
        load_keras(path)


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_a_member_flagged_encrypted_is_a_format_error_not_zipfiles_runtime_error(tmp_path, suffix):
    npy = io.BytesIO()
    np.save(npy, np.zeros(3, np.float32))
    members = ({"w.npy": npy.getvalue()} if suffix == ".npz" else
               {"archive/data.pkl": storages_pickle(["0"], 3), "archive/data/0": bytes(12)})
    raw = bytearray(write_zip(tmp_path / f"locked{suffix}", members, zipfile.ZIP_STORED).read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central flag fields
        for at in range(len(raw)):
            if raw.startswith(signature, at):
                raw[at + offset] |= 0x01  # bit 0: encrypted
    (tmp_path / f"locked{suffix}").write_bytes(bytes(raw))
    with pytest.raises(WeightFormatError, match=rf"locked\{suffix}: .*encrypted"):
        (load if suffix == ".npz" else load_torch)(tmp_path / f"locked{suffix}")


def test_hdf5_that_never_returns_is_stopped_at_the_time_limit(tmp_path, monkeypatch):
    # the real culprit is a 17 kB file on which libhdf5 loops inside attrs.get(); any hang in the
    # reader is stopped the same way, so a reader that sleeps stands in for it here
    pytest.importorskip("h5py")
    path = tmp_path / "hangs.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    monkeypatch.setattr(keras_h5, "SECONDS_BASE", 1.0)
    pid_file = tmp_path / "reader.pid"

    def hang(_path):
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)
        return {}  # a reader that finished would return this, and no error would be raised

    monkeypatch.setattr(keras_h5, "_load_keras_here", hang)
    with pytest.raises(WeightFormatError, match="hangs.h5.*did not finish within 1 s"):
        load_keras(path)
    reader = int(pid_file.read_text())
    assert reader != os.getpid()  # it ran in a child process ...
    with pytest.raises(ProcessLookupError):
        os.kill(reader, 0)        # ... which was stopped and reaped, not left sleeping


def test_the_hdf5_time_limit_grows_with_the_file_from_a_few_seconds(tmp_path, monkeypatch):
    # the mutated Keras file that makes libhdf5 loop is 17 kB: refused in seconds, not after 30 s;
    # a big file still gets the time a slow disk needs (10 MB/s)
    pytest.importorskip("h5py")
    limits = {}
    monkeypatch.setattr(keras_h5, "run_with_time_limit", lambda path, seconds, *_: limits.setdefault(path, seconds))
    for size in (17_000, 1 << 30):
        path = tmp_path / f"{size}.h5"
        with open(path, "wb") as file:
            file.truncate(size)  # sparse: no gigabyte written
        load_keras(path)
    assert limits[str(tmp_path / "17000.h5")] <= 10.1
    assert limits[str(tmp_path / f"{1 << 30}.h5")] >= (1 << 30) / (10 << 20)


def test_onnx_nul_byte_in_an_external_location_is_a_format_error(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    tensor = helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "a\x00b"
    graph = helper.make_graph([], "g", [], [], initializer=[tensor])
    path = tmp_path / "nul.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    assert onnx.load(str(path), load_external_data=False).graph.initializer[0].name == "w"
    with pytest.raises(WeightFormatError, match="nul.onnx.*NUL byte"):
        load_onnx(path)


def test_budget_allowance_grows_with_stored_bytes_only():
    budget = ByteBudget("f")
    budget.spend(SLACK_BYTES, "a", stored=0)
    with pytest.raises(WeightFormatError, match="f: b brings"):
        budget.spend(1, "b", stored=0)
    budget = ByteBudget("g")
    budget.spend(100 * 1000 + SLACK_BYTES, "real", stored=1000 * 1000)
    budget.spend(1000, "copy")
