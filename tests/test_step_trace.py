"""scripts/step_trace.py: one training step of the reference MLP stays readable (issue 22's budget)."""
from module_from_file import module_from_file


def _script():
    return module_from_file("scripts/step_trace.py")


def test_one_step_runs_through_the_spine_only_within_the_budget(capsys):
    assert _script().main(["--max-files", "8", "--max-functions", "45"]) == 0
    out = capsys.readouterr().out
    files = [line.split()[0] for line in out.splitlines() if line.startswith("minitl/")]
    assert files and all(name.startswith("minitl/core/") for name in files), files  # no wing runs in the step
    assert "Optimizer.step" in out and "SGD._update" in out and "run_backward" in out  # the step was traced


def test_the_budget_fails_when_exceeded(capsys):
    assert _script().main(["--max-functions", "5"]) == 1
