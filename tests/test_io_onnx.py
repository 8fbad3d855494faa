"""ONNX initializers into minitl: names kept, MatMul/Gemm(transB=0) weights transposed, unsafe paths refused."""
import numpy as np
import pytest

import minitl
from minitl.core.layers import Linear, ReLU, Sequential
from minitl.io import UnsafeWeightsError, WeightFormatError, load_into, load_onnx

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((4, 3)).astype(np.float32)   # Linear(3, 4) weight (out, in): Gemm transB=1
B0 = RNG.standard_normal(4).astype(np.float32)
W2 = RNG.standard_normal((4, 2)).astype(np.float32)   # Linear(4, 2) stored (in, out) for MatMul
B2 = RNG.standard_normal(2).astype(np.float32)


def write_model(path, w2_name="2.weight", extra_initializers=()):
    nodes = [helper.make_node("Gemm", ["x", "0.weight", "0.bias"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", w2_name], ["m"]),
             helper.make_node("Add", ["m", "2.bias"], ["y"])]
    initializers = [numpy_helper.from_array(W0, "0.weight"), numpy_helper.from_array(B0, "0.bias"),
                    numpy_helper.from_array(W2, w2_name), numpy_helper.from_array(B2, "2.bias"),
                    *extra_initializers]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])], initializers)
    onnx.save(helper.make_model(graph), str(path))


def test_initializers_load_and_matmul_weights_are_transposed(tmp_path):
    write_model(tmp_path / "mlp.onnx")
    weights = load_onnx(tmp_path / "mlp.onnx")
    assert list(weights) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert weights.meta["consumers"]["2.weight"][0]["op_type"] == "MatMul"
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    report = load_into(model, tmp_path / "mlp.onnx")
    assert report.ok and [name for name, _ in report.converted] == ["2.weight"]
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    expected = np.maximum(x @ W0.T + B0, 0) @ W2 + B2
    np.testing.assert_allclose(np.asarray(model(minitl.tensor(x)).data), expected, rtol=1e-5, atol=1e-5)


def test_typed_fields_and_float16_decode(tmp_path):
    typed = helper.make_tensor("extra.half", TensorProto.FLOAT16, [2], [1.5, -2.0])
    write_model(tmp_path / "typed.onnx", extra_initializers=[typed])
    half = load_onnx(tmp_path / "typed.onnx")["extra.half"]
    assert half.dtype == np.float16 and half.tolist() == [1.5, -2.0]


def test_external_data_outside_the_folder_is_refused(tmp_path):
    tensor = numpy_helper.from_array(np.ones(2, np.float32), "ext")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    write_model(tmp_path / "ext.onnx", extra_initializers=[tensor])
    with pytest.raises(UnsafeWeightsError, match="ext.onnx.*outside the model's folder"):
        load_onnx(tmp_path / "ext.onnx")


def test_garbage_is_a_format_error(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xff\xff\x07garbage")
    with pytest.raises(WeightFormatError, match="junk.onnx"):
        load_onnx(tmp_path / "junk.onnx")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_exported_model_loads_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()
    try:
        torch.onnx.export(reference, (torch.zeros(1, 3),), str(tmp_path / "t.onnx"), dynamo=False)
    except Exception as exc:  # the exporter's own optional dependencies may be missing in CI
        pytest.skip(f"torch.onnx.export unavailable: {exc}")
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    report = load_into(model, tmp_path / "t.onnx", strict=False)
    assert not report.missing and not report.mismatched, str(report)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(np.asarray(model(minitl.tensor(x)).data),
                               reference(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
