"""Every numbered demo runs on its own in --smoke mode and prints what it is there to show.

Each runs in a fresh interpreter (as a student would run it), from a temporary folder, so a demo
that depends on the current directory or on state left by another fails here.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from module_from_file import module_from_file

pytestmark = pytest.mark.slow  # each demo is a fresh interpreter that trains: the integration part of the suite

ROOT = Path(__file__).resolve().parent.parent
DEMOS = sorted((ROOT / "demos").glob("[0-9][0-9]_*.py"))

# demo -> text its output must contain, and the files it must write under --out (when it takes --out)
EXPECT = {
    "01_autograd.py": (["gradcheck against finite differences: passed"], []),
    "02_gradients.py": (["with the first Linear frozen", "weight.grad is None"], ["02_step.html"]),
    "03_scratch.py": (["test accuracy from scratch", "n = 100 labelled images per class"], ["03_loss.png"]),
    "04_feature_extraction.py": (["backbone.block1[0].weight.grad is None", "same head weights: True",
                                  "n = 20 labelled images per class"], []),
    "05_finetune_small_lr.py": (["after one step", "test accuracy", "the learning rates account for 10x",
                                 "drift from the pretrained weights: at most"], []),
    "06_lr_too_high.py": (["lr 0.5", "source accuracy", "target accuracy is highest at lr 0.05",
                           "one seed: no spread to judge it against"], ["06_lr_sweep.png"]),
    "07_gradual_discriminative.py": (["gradual: trainable blocks per epoch: epoch 1: blocks [3]; epoch 2",
                                      "discriminative"], []),
    "08_import_pth.py": (["source test accuracy of the imported network"], ["08_predictions.png"]),
    "09_transferability.py": (["first 3 block(s) pretrained, frozen", "first 0 block(s) pretrained, scratch",
                               "freezing does NOT cost accuracy beyond seed noise"], ["09_transferability.png"]),
    "10_gpu.py": ([], []),
    "11_own_photos.py": (["test accuracy on your held-out images"], ["11_predictions.png"]),
    "12_lora.py": (["backward FLOPs: closer to the full fine-tune", "saved activations:"], []),
    "13_batchnorm_pitfall.py": (["frozen = True: largest drift of the running statistics 0.0% (exactly as pretrained)",
                                 "(they moved in every run)", "backbone weights unchanged: True"], []),
    "14_cross_domain.py": (["set-up: n = 1", "fashion -> digits", "digits -> fashion", "conclusion:"],
                           ["14_cross_domain.png"]),
    "15_similarity_dial.py": (["set-up:", "p shuffled", "at p = 0 (the real images)", "at p = 1 (every pixel moved)"],
                              ["15_similarity_dial.png"]),
}
# the set-up line every demo prints first: what a student needs to compare two demos' numbers
SETUP = re.compile(r"^set-up: (?=.*seed)(?=.*(n = \d+|no training|no data set))(?=.*(epoch|no training|training "
                   r"step)).*$", re.MULTILINE)


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
    assert SETUP.search(done.stdout) and done.stdout.startswith("set-up: "), f"{name}: no set-up line first:\n" \
                                                                           f"{done.stdout[:1000]}"
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


def _demo(name):
    """A demo's module, imported without running it (its conclusion functions are plain functions)."""
    return module_from_file(f"demos/{name}")


def _row(name, lr, grad, weight, ratio, drift=None):
    return {"name": name, "lr": lr, "grad_norm": grad, "weight_norm": weight, "update_ratio": ratio, "drift": drift}


def test_demo_05_says_how_much_smaller_the_backbone_updates_are_and_why():
    demo = _demo("05_finetune_small_lr.py")
    convs = [_row(f"backbone.block{i}.0.weight", 0.005, 0.2, 4.0, 2.5e-4) for i in (1, 2, 3)]
    text = demo.update_conclusion(convs + [_row("head.weight", 0.05, 1.0, 1.3, 3.8e-2)])
    assert "152x smaller" in text and "account for 10x (lr_scale), the gradients for the other 15x" in text
    text = demo.update_conclusion(convs + [_row("head.weight", 0.05, 0.2, 4.0, 2.5e-3)])  # gradients alike
    assert "10x smaller" in text and "nearly all of it (10x" in text
    assert "NOT smaller" in demo.update_conclusion(convs + [_row("head.weight", 0.05, 0.01, 4.0, 1e-4)])
    small = convs[:2] + [_row("backbone.block3.0.weight", 0.005, 0.2, 4.0, 2.5e-4, drift=0.009)]
    for row in small[:2]:
        row["drift"] = 0.004
    assert "at most 0.9% in a backbone convolution (small" in demo.drift_conclusion(
        small + [_row("head.weight", 0.05, 1, 1, 1, drift=0.57)])
    small[0]["drift"] = 0.2
    assert "(NOT small" in demo.drift_conclusion(small + [_row("head.weight", 0.05, 1, 1, 1, drift=0.57)])


def test_demo_06_claims_flip_with_the_numbers():
    demo = _demo("06_lr_too_high.py")
    rates = [0.005, 0.05, 0.5]
    peaked = [{0: 0.70, 1: 0.71, 2: 0.69}, {0: 0.80, 1: 0.82, 2: 0.81}, {0: 0.60, 1: 0.62, 2: 0.59}]
    forgetting = [{0: 0.95, 1: 0.96, 2: 0.95}, {0: 0.90, 1: 0.91, 2: 0.89}, {0: 0.50, 1: 0.55, 2: 0.52}]
    lines = demo.sweep_conclusions(rates, peaked, forgetting)
    assert lines[0].startswith("target accuracy rises then falls, peak at lr 0.05")
    assert lines[1].startswith("source accuracy (forgetting) falls at every larger rate")
    # the case: lr 0.5 beats 0.005, the middle within noise of both: the claim is refused
    flat = [{0: 0.77, 1: 0.76, 2: 0.78}, {0: 0.78, 1: 0.79, 2: 0.76}, {0: 0.785, 1: 0.775, 2: 0.78}]
    noisy = [{0: 0.95, 1: 0.90, 2: 0.96}, {0: 0.96, 1: 0.91, 2: 0.92}, {0: 0.94, 1: 0.95, 2: 0.93}]
    lines = demo.sweep_conclusions(rates, flat, noisy)
    assert "does NOT clearly rise then fall" in lines[0] and "within seed noise" in lines[0]
    assert lines[1].startswith("source accuracy does not fall at every larger rate, but the drop is NOT beyond")


def test_demo_07_lists_every_epoch_in_stretches():
    demo = _demo("07_gradual_discriminative.py")
    blocks = [[3]] * 6 + [[2, 3]] * 6 + [[1, 2, 3]] * 6 + [[0, 1, 2, 3]] * 6
    assert demo.stretches(blocks) == ("epochs 1-6: blocks [3]; epochs 7-12: blocks [2, 3]; epochs 13-18: blocks "
                                      "[1, 2, 3]; epochs 19-24: blocks [0, 1, 2, 3]")
    assert demo.stretches([[3], [2, 3]]) == "epoch 1: blocks [3]; epoch 2: blocks [2, 3]"


def test_demo_09_claims_flip_with_the_numbers():
    demo = _demo("09_transferability.py")
    scratch = {0: 0.60, 1: 0.62, 2: 0.61}
    close = [{0: 0.78, 1: 0.79, 2: 0.785}, {0: 0.78, 1: 0.785, 2: 0.79}]
    results = {"frozen": [scratch, *close], "fine-tuned": [scratch, {0: 0.79, 1: 0.78, 2: 0.786}, close[1]]}
    lines = demo.depth_conclusions([0, 1, 2], results)
    assert lines[0].startswith("copying k pretrained blocks and fine-tuning them beats scratch beyond seed noise at "
                               "k = 1, 2")
    assert lines[2].startswith("freezing does NOT cost accuracy beyond seed noise at any k")
    results["fine-tuned"][2] = {0: 0.85, 1: 0.86, 2: 0.855}
    assert demo.depth_conclusions([0, 1, 2], results)[2].startswith("freezing costs accuracy (fine-tuned beats frozen "
                                                                    "beyond seed noise) from k = 2")
    results["frozen"][1:] = [{0: 0.62, 1: 0.60, 2: 0.61}] * 2
    assert "freezing them does NOT beat scratch beyond seed noise at any k" in demo.depth_conclusions(
        [0, 1, 2], results)[1]


def test_demo_11_grid_takes_every_class_in_turn():
    demo = _demo("11_own_photos.py")
    labels = numpy.array([0] * 20 + [1] * 20 + [2] * 3)
    picked = demo.across_classes(labels, 16)
    assert len(picked) == 16 and list(labels[picked[:9]]) == [0, 1, 2] * 3
    assert set(labels[picked]) == {0, 1, 2}


def test_demo_12_says_which_end_each_setup_is_closer_to():
    demo = _demo("12_lora.py")
    costs = {"frozen backbone": {"bwd": 0, "step": 260, "act": 0.02}, "LoRA r=4": {"bwd": 535, "step": 630, "act": 13},
             "adapters r=8": {"bwd": 481, "step": 300, "act": 2.2}, "full fine-tune": {"bwd": 948, "step": 400,
                                                                                     "act": 18}}
    lines = demo.cost_conclusions(costs)
    assert lines[2] == ("saved activations: closer to the full fine-tune (18): LoRA r=4 13; closer to the frozen "
                        "backbone (0.02): adapters r=8 2.2")
    assert lines[3].startswith("LoRA's step is 1.6x a full fine-tune's")
    costs["LoRA r=4"]["step"] = 300
    assert len(demo.cost_conclusions(costs)) == 3  # not slower: no explanation owed
