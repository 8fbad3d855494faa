"""Pickles that cost far more than their size are refused by the opcode scan, before unpickling (issue 15)."""
import struct

import numpy as np
import pytest

from hostile import peak_python_bytes, write_zip
from minitl.io import WeightFormatError, load_torch
from minitl.io.limits import MAX_OBJECTS
from minitl.io.pickle_scan import scan_pickle


def _load(tmp_path, data_pkl, name="x.pt"):
    path = write_zip(tmp_path / name, {"archive/data.pkl": data_pkl, "archive/version": b"3\n"})
    return peak_python_bytes(load_torch, path)


def test_a_memo_index_beyond_the_slots_used_is_refused_without_allocating(tmp_path):
    # LONG_BINPUT 2**24: the C unpickler would grow its memo to 16M slots (128 MB) for 8 bytes
    error, peak = _load(tmp_path, b"\x80\x02}r" + struct.pack("<I", 2 ** 24) + b".")
    assert isinstance(error, WeightFormatError) and "memo slot 16777216" in str(error) and "x.pt" in str(error)
    assert peak < 8 << 20


def test_a_get_of_a_slot_never_put_is_refused(tmp_path):
    error, _ = _load(tmp_path, b"\x80\x02}q\x00h\x07.")
    assert isinstance(error, WeightFormatError) and "never stored" in str(error)


def test_an_integer_wider_than_eight_bytes_is_refused(tmp_path):
    # also what makes 40,000 dict keys k * (2**61 - 1) share one hash: each needs 9+ bytes
    keys = b"".join(b"\x8a\x09" + (k * (2 ** 61 - 1)).to_bytes(9, "little") + b"N" for k in range(1, 2000))
    error, _ = _load(tmp_path, b"\x80\x02}(" + keys + b"u.")
    assert isinstance(error, WeightFormatError) and "wider than 8 bytes" in str(error)


@pytest.mark.parametrize("body", [b"](" + b"2" * (MAX_OBJECTS + 1) + b"e", b"]" * (MAX_OBJECTS + 1)],
                         ids=["dup in one list", "a million lists"])
def test_more_objects_than_the_cap_are_refused_before_any_is_built(tmp_path, body):
    error, peak = _load(tmp_path, b"\x80\x02" + body + b".")
    assert isinstance(error, WeightFormatError) and "pickle opcodes" in str(error)
    assert peak < 24 << 20  # the bytes of data.pkl (1 MB, read twice) and the scan: no million objects


def test_build_may_set_only_metadata_on_an_ordered_dict(tmp_path):
    # BUILD {"values": ...} on the allow-listed OrderedDict would replace that object's .values()
    pickled = (b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01}q\x02X\x06\x00\x00\x00valuesq\x03K\x01sb.")
    error, _ = _load(tmp_path, pickled)
    assert isinstance(error, WeightFormatError) and "only _metadata" in str(error)


def test_a_real_torch_file_passes_the_scan(tmp_path):
    torch = pytest.importorskip("torch")
    state = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).state_dict()
    torch.save(state, tmp_path / "real.pt")
    loaded = load_torch(tmp_path / "real.pt")
    assert loaded.meta["module_versions"] and np.array_equal(loaded["0.weight"], state["0.weight"].numpy())


def test_scan_rejects_a_stream_that_is_not_a_pickle():
    with pytest.raises(WeightFormatError, match="f.pkl is not a valid pickle"):
        scan_pickle("f", b"\xff\xfe", name="f.pkl")
