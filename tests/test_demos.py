"""Every numbered demo runs on its own in --smoke mode and prints what it is there to show.

Each runs in a fresh interpreter (as a student would run it), from a temporary folder, so a demo
that depends on the current directory or on state left by another fails here.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMOS = sorted((ROOT / "demos").glob("[0-9][0-9]_*.py"))

# demo -> text its output must contain, and the files it must write under --out (when it takes --out)
EXPECT = {
    "01_autograd.py": (["gradcheck against finite differences: passed"], []),
    "02_gradients.py": (["with the first Linear frozen", "weight.grad is None"], ["02_step.html"]),
    "03_scratch.py": (["test accuracy from scratch"], ["03_loss.png"]),
    "04_feature_extraction.py": (["backbone.block1[0].weight.grad is None", "same head weights: True"], []),
    "05_finetune_small_lr.py": (["after one step", "test accuracy"], []),
    "06_lr_too_high.py": (["lr 0.5", "source accuracy"], ["06_lr_sweep.png"]),
    "07_gradual_discriminative.py": (["gradual: trainable blocks per epoch", "discriminative"], []),
    "08_import_pth.py": (["source test accuracy of the imported network"], ["08_predictions.png"]),
    "09_transferability.py": (["first 3 block(s) pretrained, frozen"], ["09_transferability.png"]),
    "10_gpu.py": ([], []),
    "11_own_photos.py": (["test accuracy on your held-out images"], ["11_predictions.png"]),
    "13_batchnorm_pitfall.py": (["frozen = True: largest drift of the running statistics 0.0% (exactly as pretrained)",
                                 "(they moved in every run)", "backbone weights unchanged: True"], []),
}


def test_the_numbered_demos_are_all_there():
    assert set(EXPECT) <= {d.name for d in DEMOS}


@pytest.mark.parametrize("name", [d.name for d in DEMOS])
def test_demo_runs_in_smoke_mode(name, tmp_path):
    source = (ROOT / "demos" / name).read_text()
    command = [sys.executable, str(ROOT / "demos" / name)]
    if "--smoke" in source:
        command.append("--smoke")
    if "--out" in source:
        command += ["--out", str(tmp_path / "out")]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    texts, files = EXPECT.get(name, ([], []))
    for text in texts:
        assert text in done.stdout, f"{name} did not print {text!r}:\n{done.stdout[-3000:]}"
    for file in files:
        assert (tmp_path / "out" / file).is_file(), f"{name} did not write {file}"
    if name == "10_gpu.py":
        assert "no GPU here" in done.stdout or "cuda:" in done.stdout
