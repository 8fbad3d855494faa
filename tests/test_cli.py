"""The command line: each command prints what the library returns."""
import io
import json
import re
import subprocess
import sys

import minitl
from minitl.cli import main
from minitl.inspect.viewer import _sha256


def _run(*argv):
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_info_names_version_gpu_and_data():
    status, text = _run("info")
    assert status == 0
    assert f"minitl {minitl.__version__}" in text and "GPU (CuPy):" in text and "Fashion-MNIST:" in text


def test_summary_with_frozen_blocks():
    status, text = _run("summary", "smallcnn", "--num-classes", "5", "--freeze-to", "2")
    assert status == 0
    assert "Trainable params: 74,757" in text and "Non-trainable params: 19,008" in text


def test_inspect_lists_keys_shapes_and_format(tmp_path):
    path = tmp_path / "model.safetensors"
    minitl.io.save_safetensors(minitl.models.SmallCNN(3), path)
    status, text = _run("inspect", str(path))
    assert status == 0 and "safetensors file, 23 arrays" in text  # 3 blocks x (2 conv + 5 BN) + 2 head
    assert "head.weight" in text and "(3, 128)" in text


def test_inspect_of_a_bad_file_is_an_error_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x00" * 4)
    status, _ = _run("inspect", str(path))
    assert status == 1 and "broken.safetensors" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run([sys.executable, "-m", "minitl", "summary", "lenet5"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "Total params: 61,706" in done.stdout


def test_compare_with_zero_seeds_is_refused_in_one_line(tmp_path, capsys):
    """``args.seeds or 3`` read 0 as "the default" and ran 3 seeds."""
    status, text = _run("compare", "--seeds", "0", "--quiet", "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert status == 1 and text == "" and not list(tmp_path.iterdir())
    assert err.count("\n") == 1 and "--seeds must be at least 1, got 0" in err


def test_a_gpu_device_without_a_gpu_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(minitl.backend, "_load_cupy", lambda: None)  # no GPU, even on a machine with one
    status, _ = _run("compare", "--quick", "--device", "cuda", "--quiet", "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("minitl compare: device 'cuda' requested but unavailable")


def test_view_step_can_start_from_the_shipped_weights(tmp_path):
    """With --weights the step is a transfer step: the pretrained backbone, a new 5-class head, target images."""
    path = tmp_path / "step.html"
    status, text = _run("view-step", "--weights", "fashion-paired", "--freeze-to", "2", "--out", str(path))
    assert status == 0 and "backward nodes" in text
    page = path.read_text()
    assert "from the pretrained weights 'fashion-paired'" in page and "Dress, Coat, Shirt, Bag, Ankle boot" in page
    data = json.loads(re.search(r'id="minitl-step">(.*?)</script>', page, flags=re.S).group(1))
    assert data["settings"]["model_config"]["num_classes"] == 5 and max(data["settings"]["labels"]) <= 4
    minitl.manual_seed(0)  # as the command does: the same fresh head
    pretrained = minitl.models.SmallCNN(5, weights="fashion-paired")
    assert data["settings"]["weights_sha256_before"] == _sha256(pretrained.state_dict().values())
    status, _ = _run("view-step", "--weights", "fashion-pair", "--out", str(tmp_path / "x.html"))
    assert status == 1 and not (tmp_path / "x.html").exists()
