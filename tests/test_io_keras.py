"""Keras HDF5 files (written here with h5py in Keras 3 and Keras 2 layouts) into minitl models.

The expected outputs are computed with an independent NumPy implementation of the *Keras*
forward pass (NHWC, HWIO kernels, BN epsilon from Keras), so a wrong transpose, a wrong flatten
order or a lost epsilon all show up as different numbers.
"""
import json
import zipfile

import numpy as np
import pytest

import minitl
from minitl.core.layers import BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential
from minitl.io import UnsafeWeightsError, WeightFormatError, load_into, load_keras

h5py = pytest.importorskip("h5py")

RNG = np.random.default_rng(0)
KERAS = {  # one Conv2D(3, 3x3, valid) - BatchNormalization - ReLU - Flatten - Dense(5) network
    "conv2d": [RNG.standard_normal((3, 3, 2, 3)).astype(np.float32), RNG.standard_normal(3).astype(np.float32)],
    "batch_normalization": [RNG.uniform(0.5, 1.5, 3).astype(np.float32), RNG.standard_normal(3).astype(np.float32),
                            RNG.standard_normal(3).astype(np.float32), RNG.uniform(0.5, 2, 3).astype(np.float32)],
    "dense": [RNG.standard_normal((48, 5)).astype(np.float32), RNG.standard_normal(5).astype(np.float32)],
}


def keras_forward(x_nchw, epsilon):
    """The Keras computation on NHWC data, written directly from the Keras definitions."""
    x = x_nchw.transpose(0, 2, 3, 1).astype(np.float64)
    kernel, bias = KERAS["conv2d"]
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # (N, 4, 4, Cin, 3, 3)
    x = np.einsum("nhwcij,ijco->nhwo", windows, kernel) + bias
    gamma, beta, mean, variance = KERAS["batch_normalization"]
    x = np.maximum(gamma * (x - mean) / np.sqrt(variance + epsilon) + beta, 0)
    kernel, bias = KERAS["dense"]
    return x.reshape(len(x), -1) @ kernel + bias  # Flatten of NHWC: (H, W, C) order


def minitl_twin():
    return Sequential(Conv2d(2, 3, 3), BatchNorm2d(3), ReLU(), Flatten(), Linear(48, 5))


def write_keras3(path):
    with h5py.File(path, "w") as f:
        for name in ("conv2d", "batch_normalization", "flatten", "dense"):
            group = f.create_group(f"layers/{name}/vars")
            for index, array in enumerate(KERAS.get(name, [])):
                group.create_dataset(str(index), data=array)
        f.create_group("vars")
        f.create_dataset("optimizer/vars/0", data=np.array(3))


def write_legacy(path, epsilon):
    names = {"conv2d": ["kernel", "bias"], "batch_normalization": ["gamma", "beta", "moving_mean", "moving_variance"],
             "flatten": [], "dense": ["kernel", "bias"]}
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Conv2D", "config": {"name": "conv2d"}},
        {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "epsilon": epsilon}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "dense"}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = [n.encode() for n in names]
        for layer, variables in names.items():
            group = root.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/{v}:0".encode() for v in variables]
            for variable, array in zip(variables, KERAS.get(layer, [])):
                group.create_dataset(f"{layer}/{variable}:0", data=array)


def _outputs(model, x):
    model.eval()
    return np.asarray(model(minitl.tensor(x)).data)


def test_keras3_weights_file_converts_to_the_same_function(tmp_path):
    write_keras3(tmp_path / "model.weights.h5")
    weights = load_keras(tmp_path / "model.weights.h5")
    assert list(weights) == ["layers/batch_normalization/vars/0", "layers/batch_normalization/vars/1",
                             "layers/batch_normalization/vars/2", "layers/batch_normalization/vars/3",
                             "layers/conv2d/vars/0", "layers/conv2d/vars/1", "layers/dense/vars/0",
                             "layers/dense/vars/1"]
    assert weights.meta["keras_format"] == "keras3"
    model = minitl_twin()
    report = load_into(model, tmp_path / "model.weights.h5")
    assert report.ok and len(report.loaded) == 8, str(report)
    assert model[1].eps == pytest.approx(1e-3)
    notes = dict(report.converted)
    assert "HWIO -> weight OIHW" in notes["0.weight"] and "NCHW" in notes["4.weight"]
    assert "gamma -> weight" in notes["1.weight"] and "eps" in str(report)
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(_outputs(model, x), keras_forward(x, 1e-3), rtol=1e-4, atol=1e-5)


def test_legacy_h5_with_model_config_carries_epsilon(tmp_path):
    write_legacy(tmp_path / "model.h5", epsilon=0.01)
    weights = load_keras(tmp_path / "model.h5")
    assert weights.meta["keras_format"] == "legacy"
    assert list(weights)[:2] == ["conv2d/conv2d/kernel:0", "conv2d/conv2d/bias:0"]
    model = minitl_twin()
    report = load_into(model, tmp_path / "model.h5")
    assert report.ok and model[1].eps == pytest.approx(0.01)
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(_outputs(model, x), keras_forward(x, 0.01), rtol=1e-4, atol=1e-5)


def test_new_head_is_left_out_and_model_unchanged_on_strict_failure(tmp_path):
    write_keras3(tmp_path / "model.weights.h5")
    model = Sequential(Conv2d(2, 3, 3), BatchNorm2d(3), ReLU(), Flatten(), Linear(48, 7))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(minitl.io.StateDictMismatchError, match="4.weight is \\(7, 48\\)"):
        load_into(model, tmp_path / "model.weights.h5")
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    assert model[1].eps == pytest.approx(1e-5)
    report = load_into(model, tmp_path / "model.weights.h5", ignore=["4"], strict=False)
    assert report.ignored == ["4.weight", "4.bias"] and not report.missing and not report.mismatched
    np.testing.assert_array_equal(model.state_dict()["4.bias"], before["4.bias"])


def test_links_and_shape_bombs_are_refused(tmp_path):
    write_keras3(tmp_path / "other.weights.h5")
    with h5py.File(tmp_path / "linked.weights.h5", "w") as f:
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(tmp_path / "other.weights.h5"), "/layers/dense/vars/0")
    with pytest.raises(UnsafeWeightsError, match="linked.weights.h5.*ExternalLink"):
        load_keras(tmp_path / "linked.weights.h5")
    with h5py.File(tmp_path / "bomb.weights.h5", "w") as f:
        f.create_dataset("layers/dense/vars/0", shape=(10**9, 10), dtype="f4")
    with pytest.raises(WeightFormatError, match="bomb.weights.h5.*shape bomb"):
        load_keras(tmp_path / "bomb.weights.h5")


def test_not_hdf5_is_a_format_error(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(WeightFormatError, match="x.h5"):
        load_keras(tmp_path / "x.h5")


def test_model_weights_must_be_a_group_in_this_file(tmp_path):
    write_legacy(tmp_path / "other.h5", epsilon=1e-3)
    for kind, link in (("ExternalLink", h5py.ExternalLink(str(tmp_path / "other.h5"), "/")),
                       ("SoftLink", h5py.SoftLink("/real"))):
        with h5py.File(tmp_path / "linked.h5", "w") as f:
            f.create_group("real")
            f["model_weights"] = link
        with pytest.raises(UnsafeWeightsError, match=f"linked.h5.*model_weights is a {kind}"):
            load_keras(tmp_path / "linked.h5")


def test_hard_link_diamonds_are_refused_at_once(tmp_path):
    # g0 -a/b-> g1 -a/b-> ... g40: 2**40 paths to one vars group. Without a visited set: a hang.
    with h5py.File(tmp_path / "diamonds.h5", "w") as f:
        groups = [f.create_group(f"g{i}") for i in range(41)]
        groups[-1].create_dataset("vars/0", data=np.zeros(4, np.float32))
        for parent, child in zip(groups, groups[1:]):
            parent["a"], parent["b"] = child, child
        for i in range(1, 41):
            del f[f"g{i}"]
    with pytest.raises(WeightFormatError, match="diamonds.h5.*reached twice"):
        load_keras(tmp_path / "diamonds.h5")


def test_legacy_layer_listed_twice_is_refused(tmp_path):
    write_legacy(tmp_path / "twice.h5", epsilon=1e-3)
    with h5py.File(tmp_path / "twice.h5", "a") as f:
        f["model_weights"].attrs["layer_names"] = [b"dense"] * 1000
    with pytest.raises(WeightFormatError, match="twice.h5.*reached twice"):
        load_keras(tmp_path / "twice.h5")


def test_keras_zip_with_a_config_bomb_is_refused(tmp_path):
    write_keras3(tmp_path / "model.weights.h5")
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "model.weights.h5", "model.weights.h5")
        with archive.open("config.json", "w") as member:
            member.write(b"{" + b" " * (40 << 20) + b"}")
    with pytest.raises(WeightFormatError, match="bomb.keras.*config.json.*zip bomb"):
        load_keras(tmp_path / "bomb.keras")


def test_prefix_selects_a_nested_keras_model(tmp_path):
    with h5py.File(tmp_path / "nested.weights.h5", "w") as f:
        for name in ("conv2d", "batch_normalization", "dense"):
            for index, array in enumerate(KERAS[name]):
                f.create_dataset(f"layers/functional/layers/{name}/vars/{index}", data=array)
        f.create_dataset("layers/head/vars/0", data=np.zeros((5, 2), np.float32))
    model = minitl_twin()
    report = load_into(model, tmp_path / "nested.weights.h5", prefix="layers/functional/")
    assert report.ok and len(report.loaded) == 8
    x = RNG.standard_normal((2, 2, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(_outputs(model, x), keras_forward(x, 1e-3), rtol=1e-4, atol=1e-4)
