"""Opening a weight file must never run code: hostile pickles and object arrays are refused.

Each payload would create a marker file if it ran; the tests assert the error AND the absence of
the marker. Payloads are built opcode by opcode, as an attacker would.
"""
import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from minitl.io import UnsafeWeightsError, WeightFormatError, load, load_torch


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _call(module: str, name: str, argument: str, protocol=2) -> bytes:
    """A pickle that calls module.name(argument)."""
    if protocol == 4:  # STACK_GLOBAL takes the names from the stack
        return b"\x80\x04" + _unicode(module) + _unicode(name) + b"\x93" + _unicode(argument) + b"\x85R."
    if protocol == 0:  # INST: module, name and the arguments after a MARK
        return b"(" + _unicode(argument) + b"i" + module.encode() + b"\n" + name.encode() + b"\n."
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + _unicode(argument) + b"\x85R."


def _torch_zip(path, data_pkl: bytes, storages=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")


class _Evil:
    """Builds an arbitrary object through __reduce__, the classic pickle attack."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payloads(marker):
    command = f"touch {marker}"
    return {
        "os.system": _call("os", "system", command),
        "posix.system": _call("posix", "system", command),
        "builtins.eval": _call("builtins", "eval", f"open({str(marker)!r}, 'w')"),
        "builtins.exec": _call("builtins", "exec", f"open({str(marker)!r}, 'w')"),
        "subprocess.Popen": b"\x80\x02csubprocess\nPopen\n(X\x05\x00\x00\x00touch" + _unicode(str(marker))
                            + b"l\x85R.",
        "stack_global": _call("os", "system", command, protocol=4),
        "inst": _call("os", "system", command, protocol=0),
        "nested torch.load": _call("torch", "load", str(marker)),
        "reduce object": pickle.dumps(_Evil(marker), protocol=2),
        "reduce object p4": pickle.dumps({"w": _Evil(marker)}, protocol=4),
    }


@pytest.mark.parametrize("kind", sorted(_payloads("m")))
def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, kind):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pth"
    _torch_zip(path, _payloads(marker)[kind])
    with pytest.raises(UnsafeWeightsError) as info:
        load_torch(path)
    assert not marker.exists()
    message = str(info.value)
    assert "evil.pth" in message and "allow-list" in message


def test_unsafe_error_is_a_weight_format_error():
    assert issubclass(UnsafeWeightsError, WeightFormatError)


@pytest.mark.parametrize("key", ["../x", "99", "0/../../etc/passwd", "-1", "١"])
def test_storage_keys_must_name_existing_records(tmp_path, key):
    pickled = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((" + _unicode("storage") + b"ctorch\nFloatStorage\n"
               + _unicode(key) + _unicode("cpu") + b"K\x01tQK\x00K\x01\x85K\x01\x85\x89)tR.")
    path = tmp_path / "keys.pt"
    _torch_zip(path, pickled, {"0": b"\0" * 4})
    with pytest.raises(WeightFormatError, match="keys.pt"):
        load_torch(path)


def test_a_valid_handmade_pickle_loads(tmp_path):
    """The same bytes as above with key '0' are accepted: the refusals are about the key, not the shape."""
    pickled = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((" + _unicode("storage") + b"ctorch\nFloatStorage\n"
               + _unicode("0") + _unicode("cpu") + b"K\x01tQK\x00K\x01\x85K\x01\x85\x89)tR.")
    wrapped = b"\x80\x02}" + _unicode("w") + pickled[2:-1] + b"s."
    _torch_zip(tmp_path / "ok.pt", wrapped, {"0": np.float32(2.5).tobytes()})
    assert load_torch(tmp_path / "ok.pt")["w"].tolist() == [2.5]


def test_npz_with_an_object_array_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([_Evil(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(WeightFormatError, match="evil.npz.*object array"):
        load(path)
    assert not marker.exists()


def test_npz_shape_bomb_is_refused_before_allocating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as archive:
        archive.writestr("w.npy", header.getvalue() + b"\0" * 16)
    with pytest.raises(WeightFormatError, match="bomb.npz.*member w.npy"):
        load(tmp_path / "bomb.npz")
