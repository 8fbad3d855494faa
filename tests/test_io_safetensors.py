"""safetensors: minitl's own reader/writer against the reference package, and every validity rule."""
import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitl
import minitl.models
from corruption import corrupt_bytes
from minitl.io import WeightFormatError, load_into, load_safetensors, save_safetensors

safetensors_numpy = pytest.importorskip("safetensors.numpy")

ARRAYS = {
    "w": np.arange(6, dtype=np.float32).reshape(2, 3), "d": np.linspace(0, 1, 5), "h": np.ones(3, np.float16),
    "n": np.array(7, np.int64), "i": np.array([-1, 2], np.int32), "s": np.array([3], np.int16),
    "c": np.array([-4], np.int8), "u": np.array([200], np.uint8), "u16": np.array([60000], np.uint16),
    "b": np.array([True, False]), "empty": np.zeros((0, 4), np.float32), "z": np.array([1 + 2j], np.complex64),
}


def test_writer_output_is_read_by_the_reference_and_by_us(tmp_path):
    path = tmp_path / "a.safetensors"
    save_safetensors(ARRAYS, path, metadata={"format": "pt"})
    reference = safetensors_numpy.load_file(str(path))
    ours = load_safetensors(path)
    assert list(ours) == list(ARRAYS) and ours.meta["metadata"] == {"format": "pt"}
    for name, array in ARRAYS.items():
        for loaded in (reference[name], ours[name]):
            assert loaded.dtype == array.dtype and loaded.shape == array.shape
            np.testing.assert_array_equal(loaded, array)


def test_reader_reads_reference_files_including_bf16(tmp_path):
    path = tmp_path / "ref.safetensors"
    safetensors_numpy.save_file({k: v for k, v in ARRAYS.items()}, str(path))
    ours = load_safetensors(path)
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(ours[name], array)
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    values = torch.tensor([1.5, -2.25, 3e10], dtype=torch.bfloat16)
    safetensors_torch.save_file({"bf": values}, str(tmp_path / "bf.safetensors"))
    loaded = load_safetensors(tmp_path / "bf.safetensors")["bf"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values.float().numpy())


def test_model_round_trip(tmp_path):
    minitl.manual_seed(0)
    model = minitl.models.SmallCNN(num_classes=4)
    save_safetensors(model, tmp_path / "m.safetensors")
    minitl.manual_seed(1)
    other = minitl.models.SmallCNN(num_classes=4)
    report = load_into(other, tmp_path / "m.safetensors")
    assert report.ok
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b)


def _file(header: dict, buffer: bytes, pad=True) -> bytes:
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def _raw(header_text: bytes, buffer: bytes) -> bytes:
    return struct.pack("<Q", len(header_text)) + header_text + buffer


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "I64", "shape": [], "data_offsets": [8, 16]}}

MALFORMED = {
    "tiny": (b"\x01\x02", "too short"),
    "huge header length": (struct.pack("<Q", 2**40) + b"{}", "exceeds"),
    "header past end": (struct.pack("<Q", 100) + b"{}", "runs past the end"),
    "not json": (struct.pack("<Q", 8) + b"{notjson", "not valid JSON"),
    "not utf8": (struct.pack("<Q", 2) + b"\xff\xfe", "not UTF-8"),
    "json list": (_file([], b""), "must be a JSON object"),
    "duplicate key": (_raw(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                           b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0"), "duplicate key"),
    "unknown dtype": (_file({"a": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "unknown dtype"),
    "bool shape": (_file({"a": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}}, b"\0"), "shape"),
    "zero dim beside a huge one": (_file({"a": {"dtype": "F32", "shape": [0, 10**30], "data_offsets": [0, 0]}}, b""),
                                   "shape"),
    "empty but over 2**63 bytes": (_file({"a": {"dtype": "F32", "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}},
                                         b""), "shape"),
    "negative shape": (_file({"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}, b"\0"), "shape"),
    "offsets past end": (_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
                         "past the end"),
    "overlap": (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "overlaps"),
    "gap": (_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), "gap"),
    "size mismatch": (_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
                      "needs 12 bytes"),
    "trailing bytes": (_file(GOOD, b"\0" * 17), "trailing bytes"),
    "bad metadata": (_file({"__metadata__": {"k": 1}}, b""), "__metadata__"),
    "f8 unsupported": (_file({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0"), "F8_E4M3"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_rejected_with_the_file_and_problem(tmp_path, case):
    content, problem = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(WeightFormatError) as info:
        load_safetensors(path)
    assert "bad.safetensors" in str(info.value) and problem in str(info.value), str(info.value)


def test_unpadded_header_with_whitespace_and_empty_file_are_valid(tmp_path):
    path = tmp_path / "ok.safetensors"
    text = b'  {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}\n'
    path.write_bytes(struct.pack("<Q", len(text)) + text + np.float32(3).tobytes())
    assert load_safetensors(path)["a"].tolist() == [3.0]
    path.write_bytes(_file({}, b""))
    assert len(load_safetensors(path)) == 0


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_corruption_raises_only_weight_format_error(tmp_path, data):
    path = tmp_path / "mutated.safetensors"
    path.write_bytes(corrupt_bytes(data, _file(GOOD, np.ones(2, np.float32).tobytes() + np.int64(5).tobytes()),
                                   max_writes=6))
    try:
        load_safetensors(path)
    except WeightFormatError as exc:
        assert "mutated.safetensors" in str(exc)
