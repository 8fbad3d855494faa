"""PyTorch .pt files: minitl's reader on files torch wrote, minitl's writer read back by torch.

torch is a test-only oracle here: minitl.io never imports it.
"""
import collections
import io
import os
import tarfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitl
import minitl.models
from corruption import corrupt_bytes
from minitl.io import WeightFormatError, load_into, load_torch, save_torch

torch = pytest.importorskip("torch")
nn = torch.nn
from torch_twins import randomize_batchnorm, torch_resnet18, torch_smallcnn  # noqa: E402


def _same(ours, theirs):
    theirs = theirs.detach()
    expected = theirs.float().numpy() if theirs.dtype == torch.bfloat16 else theirs.numpy()
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


# ---------------------------------------------------------------- reading files torch wrote
def test_reads_every_supported_dtype_view_and_shared_storage(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = collections.OrderedDict(
        f32=torch.randn(2, 3), f64=torch.randn(3, dtype=torch.float64), f16=torch.randn(4).half(),
        bf16=torch.tensor([1.5, -2.25, 3e10, float("nan")], dtype=torch.bfloat16),
        i64=torch.tensor([-(2**40), 7]), i32=torch.tensor([1, -2], dtype=torch.int32),
        i16=torch.tensor([3], dtype=torch.int16), i8=torch.tensor([-5], dtype=torch.int8),
        u8=torch.tensor([250], dtype=torch.uint8), flag=torch.tensor([True, False]),
        scalar=torch.tensor(5), empty=torch.zeros(0, 3),
        base=base, transposed=base.t(), sliced=base[1:3, 2:5], strided=base[:, ::2],
        parameter=nn.Parameter(torch.ones(2)),
    )
    path = tmp_path / "mixed.pt"
    torch.save(state, path)
    weights = load_torch(path)
    assert list(weights) == list(state)
    for name, tensor in state.items():
        if name == "bf16":
            np.testing.assert_array_equal(weights[name][:3], tensor[:3].float().numpy())
            assert np.isnan(weights[name][3]) and weights[name].dtype == np.float32
        else:
            _same(weights[name], tensor)
    assert weights["transposed"].flags.c_contiguous and weights["transposed"].flags.writeable


def test_unwraps_checkpoints_and_strips_wrapper_prefixes(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    wrapped = collections.OrderedDict((f"module._orig_mod.{k}", v) for k, v in model.state_dict().items())
    torch.save({"epoch": 3, "state_dict": wrapped, "optimizer": {"lr": 0.1}}, tmp_path / "ckpt.pth")
    weights = load_torch(tmp_path / "ckpt.pth", strip_prefixes=True)
    assert list(weights) == list(model.state_dict())
    assert weights.meta["wrapper"] == "state_dict" and weights.meta["extra"]["epoch"] == 3
    torch.save({"model": model.state_dict()}, tmp_path / "m.pt")
    assert list(load_torch(tmp_path / "m.pt")) == list(model.state_dict())
    assert load_torch(tmp_path / "m.pt").meta["module_versions"]["1"]["version"] == 2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_legacy_tar_and_torchscript_are_refused_with_a_resave_hint(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightFormatError, match="legacy.*re-save") as info:
        load_torch(legacy)
    assert str(legacy) in str(info.value)

    tar_path = tmp_path / "old.pt"
    with tarfile.open(tar_path, "w") as tar:
        for member in ("sys_info", "pickle", "tensors", "storages"):
            data = b"x"
            entry = tarfile.TarInfo(member)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    with pytest.raises(WeightFormatError, match="tar"):
        load_torch(tar_path)

    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), scripted)
    with pytest.raises(WeightFormatError, match="TorchScript"):
        load_torch(scripted)


def _valid_file(tmp_path):
    path = tmp_path / "valid.pt"
    torch.save(collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), n=torch.tensor(4)), path)
    return path


def _rezip(source, target, edit):
    """Copy a zip entry by entry; ``edit(name, data)`` returns new data or None to drop the entry."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = edit(name, old.read(name))
            if data is not None:
                new.writestr(name, data)


def test_malformed_zips_give_weight_format_errors_naming_the_file(tmp_path):
    path = _valid_file(tmp_path)
    raw = path.read_bytes()
    cases = {
        "truncated.pt": lambda: (tmp_path / "truncated.pt").write_bytes(raw[: len(raw) // 2]),
        "nopickle.pt": lambda: _rezip(path, tmp_path / "nopickle.pt",
                                      lambda n, d: None if n.endswith("data.pkl") else d),
        "short.pt": lambda: _rezip(path, tmp_path / "short.pt",
                                   lambda n, d: d[:-4] if n.endswith("data/0") else d),
        "nostorage.pt": lambda: _rezip(path, tmp_path / "nostorage.pt",
                                       lambda n, d: None if n.endswith("data/1") else d),
        "notzip.pt": lambda: (tmp_path / "notzip.pt").write_bytes(b"hello world"),
    }
    expected = {"truncated.pt": "truncated or corrupt", "nopickle.pt": "no data.pkl",
                "short.pt": "holds 20 bytes but its tensor needs 6 x 4", "nostorage.pt": "not in the archive",
                "notzip.pt": "not a PyTorch zip"}
    for name, make in cases.items():
        make()
        with pytest.raises(WeightFormatError) as info:
            load_torch(tmp_path / name)
        assert name in str(info.value) and expected[name] in str(info.value), str(info.value)


def test_rebuild_arguments_outside_the_storage_are_refused(tmp_path):
    path = _valid_file(tmp_path)

    def grow(name, data):
        # size (2, 3) -> (2, 9): the view would read past the 6-element storage.
        return data.replace(b"K\x02K\x03\x86", b"K\x02K\t\x86") if name.endswith("data.pkl") else data

    _rezip(path, tmp_path / "big.pt", grow)
    with pytest.raises(WeightFormatError, match="reaches past"):
        load_torch(tmp_path / "big.pt")


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_corruption_raises_only_weight_format_error(tmp_path, data):
    target = tmp_path / "mutated.pt"
    target.write_bytes(corrupt_bytes(data, _valid_file(tmp_path).read_bytes(), max_writes=8))
    try:
        weights = load_torch(target)
    except WeightFormatError as exc:
        assert "mutated.pt" in str(exc)
    else:
        assert all(isinstance(v, np.ndarray) for v in weights.values())


# ---------------------------------------------------------------- writing files torch reads
def test_save_torch_is_read_by_torch_weights_only_and_mmap(tmp_path):
    state = collections.OrderedDict(
        w=np.arange(6, dtype=np.float32).reshape(2, 3), t=np.arange(12.0).reshape(3, 4).T,
        n=np.array(0, np.int64), h=np.ones(3, np.float16), b=np.array([True, False]), i8=np.array([-3], np.int8),
        u8=np.array([250], np.uint8), i32=np.array([7], np.int32), i16=np.array([-7], np.int16),
        empty=np.zeros((0, 2), np.float32), big=np.arange(70_000, dtype=np.int64),
    )
    path = tmp_path / "out.pt"
    save_torch(state, path)
    for mmap in (False, True):
        loaded = torch.load(path, weights_only=True, mmap=mmap)
        assert list(loaded) == list(state)
        for name, array in state.items():
            assert loaded[name].numpy().dtype == array.dtype and tuple(loaded[name].shape) == array.shape
            np.testing.assert_array_equal(loaded[name].numpy(), array)
    again = load_torch(path)
    for name, array in state.items():
        np.testing.assert_array_equal(again[name], array)
    with zipfile.ZipFile(path) as archive:  # records 64-byte aligned, as torch writes them
        for info in archive.infolist():
            assert (info.header_offset + 30 + len(info.filename) + len(info.extra)) % 64 == 0


def test_save_torch_refuses_dtypes_torch_cannot_store(tmp_path):
    with pytest.raises(WeightFormatError, match="'x'.*uint32"):
        save_torch({"x": np.ones(2, np.uint32)}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


# ---------------------------------------------------------------- real models, both directions
def _forward(model, x):
    model.eval()
    return np.asarray(model(minitl.tensor(x)).data)


CASES = {
    "smallcnn": (lambda: torch_smallcnn(), lambda: minitl.models.SmallCNN(), (2, 1, 28, 28)),
    "resnet18": (lambda: torch_resnet18(num_classes=10), lambda: minitl.models.resnet18(num_classes=10),
                 (1, 3, 64, 64)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_to_minitl_forward_parity(tmp_path, name):
    make_torch, make_minitl, shape = CASES[name]
    torch.manual_seed(0)
    reference = make_torch()
    randomize_batchnorm(reference, num_batches_tracked=7)  # a swapped mean/var would show in the outputs
    path = tmp_path / f"{name}.pth"
    torch.save(reference.state_dict(), path)
    model = make_minitl()
    report = load_into(model, path)
    assert report.ok and len(report.loaded) == len(reference.state_dict())
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    expected = reference.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(_forward(model, x), expected, atol=1e-5, rtol=1e-4)
    assert model.state_dict()[next(k for k in model.state_dict() if k.endswith("num_batches_tracked"))] == 7


@pytest.mark.parametrize("name", sorted(CASES))
def test_minitl_to_torch_forward_parity(tmp_path, name):
    make_torch, make_minitl, shape = CASES[name]
    minitl.manual_seed(3)
    model = make_minitl()
    path = tmp_path / f"{name}.pt"
    save_torch(model, path)
    twin = make_torch()
    result = twin.load_state_dict(torch.load(path, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(k in torch.load(path, weights_only=True) for k in twin.state_dict() if "num_batches" in k)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    expected = twin.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(_forward(model, x), expected, atol=1e-5, rtol=1e-4)


def test_minitl_torch_minitl_round_trip_is_exact(tmp_path):
    minitl.manual_seed(4)
    model = minitl.models.resnet18(num_classes=5)
    save_torch(model, tmp_path / "r.pt")
    weights = load_torch(tmp_path / "r.pt")
    original = model.state_dict()
    assert list(weights) == list(original)
    for name, array in original.items():
        assert weights[name].dtype == array.dtype
        np.testing.assert_array_equal(weights[name], array)
    assert os.listdir(tmp_path) == ["r.pt"]  # the atomic writer left no temporary file


# ---------------------------------------------------------------- hostile shapes of data.pkl
def test_expanded_tensors_from_torch_save_load(tmp_path):
    # expand() gives stride 0: five elements, one stored. Valid, and not a tensor "past its storage".
    path = tmp_path / "expanded.pt"
    state = {"w": torch.arange(3.0).reshape(3, 1).expand(3, 4), "z": torch.zeros(1).expand(5), "b": torch.ones(3)}
    torch.save(state, path)
    weights = load_torch(path)
    for name, tensor in state.items():
        _same(weights[name], tensor)


def _torch_zip(path, data_pkl, storages):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a/data.pkl", data_pkl)
        archive.writestr("a/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"a/data/{key}", data)


def test_many_tensors_viewing_one_storage_are_capped(tmp_path):
    # 12 tensors rebuilt from one 4 MiB storage would take 48 MiB from a 4 MiB file; the cap is
    # 5 x the file's data (the storage and four copies of it) + 16 MiB once, so loading stops first.
    from hostile import storages_pickle

    numel = 1 << 20
    _torch_zip(tmp_path / "amplified.pt", storages_pickle(["0"] * 12, numel), {"0": bytes(numel * 4)})
    with pytest.raises(WeightFormatError, match="amplified.pt.*over this file's cap"):
        load_torch(tmp_path / "amplified.pt")


GRAPH_PICKLES = {
    "contains itself": (b"\x80\x02}q\x00X\x01\x00\x00\x00a]q\x01h\x01as.", "contains itself"),
    "storage class as a value": (b"\x80\x02}q\x00(X\x01\x00\x00\x00actorch\nFloatStorage\nu.", "storage"),
    # 50,000 nested lists: a recursive walk hits RecursionError; this one finds no tensors.
    "deep nesting": (b"\x80\x02}X\x01\x00\x00\x00a" + b"]" * 50_000 + b"a" * 49_999 + b"s.", "no tensors"),
}


@pytest.mark.parametrize("case", sorted(GRAPH_PICKLES))
def test_cyclic_deep_or_odd_pickles_are_format_errors(tmp_path, case):
    data_pkl, problem = GRAPH_PICKLES[case]
    _torch_zip(tmp_path / "odd.pt", data_pkl, {})
    with pytest.raises(WeightFormatError) as info:
        load_torch(tmp_path / "odd.pt")
    assert "odd.pt" in str(info.value) and problem in str(info.value), str(info.value)


def test_shared_containers_are_converted_once(tmp_path):
    # A list met through two keys is the same list twice, not a cycle.
    shared = [torch.ones(2)]
    torch.save({"w": torch.zeros(3), "a": shared, "b": shared}, tmp_path / "shared.pt")
    weights = load_torch(tmp_path / "shared.pt")
    assert weights.meta["extra"]["a"] is weights.meta["extra"]["b"]
    np.testing.assert_array_equal(weights.meta["extra"]["a"][0], np.ones(2, np.float32))
