"""minitl's compare runs against the PyTorch twin (benchmarks/compare_torch.py) on the same plan: same
subset, same starting weights, same batch order. With a short budget the two engines must give the
same test accuracy to within a few images out of 1,500 (float32 round-off may flip a borderline one)."""
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import compare_torch  # noqa: E402

from minitl.compare import Protocol, load_task, run_seeds  # noqa: E402
from minitl.compare.grid import TOO_HIGH, parse_strategy  # noqa: E402
from minitl.compare.run import run_one  # noqa: E402

pytestmark = pytest.mark.slow  # each case trains in both engines
SHORT = Protocol(min_steps=15, min_epochs=2)
# The lr-0.5 run is chaotic: the BLAS kernel a CPU gets (AVX-512 or AVX2) rounds a product differently, and
# 15 steps at that rate amplify the difference. Its source accuracy after BatchNorm re-estimation differed
# by 11 images on an AVX2 machine (under 5 on an AVX-512 one); every other number stays within 5 images.
SOURCE_TOLERANCE = {TOO_HIGH: 15 / 1500}


@pytest.mark.parametrize("label", ["scratch", "fe", "ft", TOO_HIGH, "lp-ft"])
def test_minitl_and_pytorch_agree_run_by_run(label):
    torch.manual_seed(0)
    task = load_task("paired")
    spec, seeds = parse_strategy(label), run_seeds(0)
    source_head = compare_torch.to_torch(task.source_model()).head
    ours = run_one(spec, 2, 0, seeds, task, SHORT)
    theirs = compare_torch.run(spec, 2, 0, seeds, task, SHORT, source_head, measure_forgetting=True)
    assert abs(ours["target_accuracy"] - theirs["target_accuracy"]) <= 5 / 1500
    if ours["source_accuracy"] is not None:
        for kind in ("raw", "recalibrated"):
            tolerance = SOURCE_TOLERANCE.get(label, 5 / 1500)
            assert abs(ours["source_accuracy"][kind] - theirs["source_accuracy"][kind]) <= tolerance
