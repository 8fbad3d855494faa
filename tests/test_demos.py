"""Every numbered demo runs on its own in --smoke mode and prints what it is there to show.

Each runs in a fresh interpreter (as a student would run it), from a temporary folder, so a demo
that depends on the current directory or on state left by another fails here.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each demo is a fresh interpreter that trains: the integration part of the suite

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
    "14_cross_domain.py": (["set-up: n = 1", "fashion -> digits", "digits -> fashion", "conclusion:"],
                           ["14_cross_domain.png"]),
    "15_similarity_dial.py": (["set-up:", "p shuffled", "at p = 0 (the real images)", "at p = 1 (every pixel moved)"],
                              ["15_similarity_dial.png"]),
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
    if name == "12_lora.py":
        rows = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
        for setup in ("frozen backbone", "LoRA r=4", "adapters r=8", "visual prompt p=2", "full fine-tune"):
            assert setup in rows, done.stdout
        assert "100.00%" in rows["full fine-tune"] and "645" in rows["frozen backbone"]
        assert "853" in rows["visual prompt p=2"]  # 208 border values + the 645 of the head
    if name == "14_cross_domain.py":  # the conclusion follows the two verdicts printed above it
        verdicts = [line for line in done.stdout.splitlines() if "beats scratch?" in line]
        held = ["beats scratch? HOLDS" in line for line in verdicts]
        assert len(verdicts) == 2, done.stdout
        expected = "in both directions" if all(held) else "in neither direction" if not any(held) else "but not"
        assert expected in done.stdout, done.stdout
    if name == "15_similarity_dial.py":  # "fell" / "did not fall" follows the benefits it printed
        rows = [line.split() for line in done.stdout.splitlines() if line[:2] in ("0 ", "1 ")]
        first, last = (float(row[3]) for row in (rows[0], rows[-1]))
        assert ("the benefit fell" in done.stdout) == (last < first), done.stdout
