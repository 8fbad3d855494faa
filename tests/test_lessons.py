"""The lessons: each notebook is what its percent-format source builds, runs top to bottom in a real Jupyter
kernel (nbclient + ipykernel) from a folder that is not the checkout, shows its key outputs, and ends with
questions for the students."""
from pathlib import Path

import pytest

from module_from_file import module_from_file

ROOT = Path(__file__).resolve().parent.parent
build_lessons = module_from_file("scripts/build_lessons.py")

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))

# lesson -> text its outputs must contain
KEY_OUTPUTS = {
    "01_autograd": ["same as by hand: True", "gradcheck against finite differences: passed",
                    "under no_grad: grad_fn = None"],
    "02_one_step_inspected": ["set-up: one batch of n = 2 images per class", "nodes in backbone.block1: 0",
                              "WeightedNLLBackward", "14 parameters, 4 frozen", "update == -lr * grad: claim holds",
                              "frozen block1 weights bit-identical after the step: True",
                              "the head's update norm", "is in the page: True"],
    "03_freeze_finetune_scratch": ["set-up: strategies scratch,fe,ft; n = 1,5", "target acc",
                                   "verdicts (computed from the table above)", "best at n = 1:"],
    "04_lr_destroys_features": ["set-up: n = 20 labelled images per class", "source accuracy before fine-tuning",
                                "forgetting: source accuracy (BN re-estimated) at the small rate minus",
                                "claim 'a too-large rate makes the backbone forget the source task'",
                                "target accuracy is highest at the", "||W - W0|| / ||W0||, mean over 3 seeds",
                                "every backbone convolution moved further at the too-large rate"],
    "05_batchnorm_freezing": ["set-up: target task", "BatchNorm uses batch statistics and updates its running ones",
                              "BatchNorm uses running statistics", "running mean moved",
                              "the backbone's weights did not move at all in either way, in any seed: True",
                              "claim 'freeze() keeps the running statistics, the requires_grad loop rewrites them' "
                              "holds", "source accuracy with the old head, loop minus freeze()"],
    "06_lora_cost": ["set-up: n = 20 labelled images per class", "training s", "FLOP ratio",
                     "LoRA trains 5,033 of its 98,153 parameters",
                     "claim 'a small trainable share does not make the step proportionally cheaper'",
                     "target accuracy, full fine-tune minus LoRA r=4",
                     "the plain SmallCNN: 241,116,160; the same: True"],
}

# lesson -> (text in a code cell, the output types one of which that cell must display): what is not printed text
# (the step viewer as the cell's value; a chart as a picture)
KEY_DISPLAYS = {
    "02_one_step_inspected": [("inspect.view_step(", {"text/html", "text/plain"}, {"execute_result"})],
    "04_lr_destroys_features": [("viz.bar_chart(", {"image/png"}, {"execute_result", "display_data"})],
    "05_batchnorm_freezing": [("viz.bar_chart(", {"image/png"}, {"execute_result", "display_data"})],
    "06_lora_cost": [("viz.bar_chart(", {"image/png"}, {"execute_result", "display_data"})],
}


def test_every_lesson_has_its_notebook_and_every_notebook_is_up_to_date():
    assert {p.stem for p in LESSONS} >= set(KEY_OUTPUTS)
    assert build_lessons.main(["--check"]) == 0, "run: python scripts/build_lessons.py"


def test_the_converter_splits_markdown_and_code_cells():
    cells = build_lessons.cells_of("# %% [markdown]\n# # Title\n# text\n\n# %%\nx = 1\nprint(x)\n\n", "t")
    assert [c["cell_type"] for c in cells] == ["markdown", "code"]
    assert cells[0]["source"] == ["# Title\n", "text"] and cells[1]["source"] == ["x = 1\n", "print(x)"]
    assert [c["id"] for c in cells] == ["t-00", "t-01"]
    with pytest.raises(ValueError, match="before the first"):
        build_lessons.cells_of("x = 1\n# %%\n", "t")


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_every_lesson_ends_with_questions(lesson):
    source = (ROOT / "lessons" / f"{lesson}.py").read_text(encoding="utf-8")
    last = source.rsplit("# %%", 1)[1]
    assert last.startswith(" [markdown]") and "## Questions" in last and "# 2." in last


@pytest.mark.slow
@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_lesson_runs_in_a_real_kernel(lesson, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(ROOT / "lessons" / f"{lesson}.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    for text in KEY_OUTPUTS.get(lesson, []):
        assert text in printed, f"{lesson} did not show {text!r}:\n{printed[-3000:]}"
    for marker, kinds, output_types in KEY_DISPLAYS.get(lesson, []):
        cells = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source]
        assert cells, f"{lesson}: no code cell contains {marker!r}"
        for cell in cells:
            shown = {kind for output in cell.outputs if output.output_type in output_types
                     for kind in output.get("data", {})}
            assert shown & kinds, (f"{lesson}: the cell with {marker!r} displayed {sorted(shown) or 'nothing'} as "
                                   f"{'/'.join(sorted(output_types))}; expected one of {sorted(kinds)}")
