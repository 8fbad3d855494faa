"""Exercises: solution regions, the student copy, and a checker that tests the student's code, not ours.

The round trip runs as a class would: ``make_student_copy`` writes a copy, and ``python -m minitl check``
runs in that folder (a subprocess, killed if it hangs), so the minitl it imports is the copy. Solving an
exercise puts the region of the full package back in place of the stub; a wrong solution is that region
with one deliberate mistake.
"""
import ast
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

import minitl
from minitl.cli import build_parser, main
from minitl.core import seams
from minitl.core import tensor as autograd
from minitl.core.ops.pool import MaxPool2d
from minitl.exercises import EXERCISES, CheckReport, CheckRow, check, make_student_copy, solution_regions
from minitl.exercises.regions import cut_regions, find_regions, stub_line

PACKAGE = Path(minitl.__file__).resolve().parent
TIMEOUT = 120


# ----- regions and stubs -----

def test_a_region_becomes_one_stub_line_at_its_indentation_and_the_file_still_compiles():
    text = ("def f(x):\n    y = 1\n    # BEGIN SOLUTION double\n    z = 2 * x\n    return z + y\n"
            "    # END SOLUTION\n\n\nclass A:\n    def g(self):\n        # BEGIN SOLUTION other\n"
            "        return 3\n        # END SOLUTION\n")
    cut, regions = cut_regions(text, "example.py", names={"double"})
    assert [r.name for r in regions] == ["double"]
    assert stub_line("double", "    ") in cut.split("\n")
    assert "2 * x" not in cut and "return 3" in cut  # only the named exercise is cut
    namespace = {}
    exec(compile(cut, "example.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="exercise: double — check it with: minitl check double"):
        namespace["f"](1)


@pytest.mark.parametrize("text, message", [
    ("# BEGIN SOLUTION a\nx = 1\n", "never closed"),
    ("# BEGIN SOLUTION a\n# BEGIN SOLUTION b\n# END SOLUTION\n", "inside the region opened at line 1"),
    ("x = 1\n# END SOLUTION\n", "END SOLUTION without a BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "needs a name"),
])
def test_a_bad_marker_is_an_error_naming_the_file_and_line(text, message):
    with pytest.raises(ValueError, match=message) as error:
        find_regions(text, "minitl/core/x.py")
    assert "minitl/core/x.py:" in str(error.value)


def test_every_marked_region_is_a_known_exercise_and_every_exercise_is_marked():
    found = solution_regions(PACKAGE)
    names = {region.name for regions in found.values() for region in regions}
    assert names == set(EXERCISES)
    assert all(path.startswith("minitl/core/") for path in found)  # the exercises are the spine's own code
    for exercise in EXERCISES.values():  # each region lies in a function the checker looks at for its stub
        files = {module.replace(".", "/") + ".py" for module, _ in exercise.places}
        assert {path for path, regions in found.items() if any(r.name == exercise.name for r in regions)} == files


# ----- the checker on the full package -----

def test_the_full_package_passes_every_check_with_small_errors():
    report = check()
    assert report.passed, str(report)
    assert {row.exercise for row in report.rows} == set(EXERCISES) and not report.stubs
    gradient_rows = [row for row in report.rows if row.check.startswith("gradient")]
    assert len(gradient_rows) >= 25 and all(row.error < 1e-6 for row in gradient_rows)


def test_check_turns_fast_paths_off_so_the_reference_op_is_what_is_checked():
    class WrongTwin(MaxPool2d):  # a twin whose gradient is wrong: were it used, the check would fail
        def backward(self, grad):
            return -super().backward(grad)

    previous = seams.register_fast_path(MaxPool2d, WrongTwin)
    try:
        assert check("max_pool2d").passed
        assert seams.fast_paths[MaxPool2d] is WrongTwin  # put back afterwards
    finally:
        seams.register_fast_path(MaxPool2d, previous)


def _marked_when_pushed(root):
    """The classic wrong order: depth first, a tensor marked when pushed, so a short path can overtake a long one."""
    order, visited, stack = [], {id(root)}, [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        stack.append((tensor, True))
        for inp in (tensor.grad_fn.inputs if tensor.grad_fn is not None else ()):
            if inp is not None and inp.requires_grad and id(inp) not in visited:
                visited.add(id(inp))
                stack.append((inp, False))
    return order[::-1]


def test_a_wrong_topological_order_fails_on_the_diamond(monkeypatch):
    monkeypatch.setattr(autograd, "_topological_order", _marked_when_pushed)
    rows = {row.check: row for row in check("topological_order").rows}
    assert not rows["outputs before inputs on a diamond"].passed
    diamond = rows["gradient: a diamond (paths of different lengths)"]
    assert not diamond.passed and diamond.error > 0.01


def test_the_report_is_a_table_in_text_and_escaped_html():
    report = CheckReport([CheckRow("mul", "gradient: x * y", 2.0, False, "a <b> & c"),
                          CheckRow("mul", "forward values", 0.0, True, "")], stubs=["sum"])
    text = str(report)
    assert re.search(r"^mul +gradient: x \* y +2\.0e\+00 +FAIL +a <b> & c$", text, re.MULTILINE)
    assert "1 of 2 checks pass" in text and "still a stub: sum" in text
    page = report._repr_html_()
    assert "a &lt;b&gt; &amp; c" in page and "<b>" not in page.replace('<b style', '')
    assert not report.passed and report.failed_exercises() == ["mul"]


def test_minitl_check_is_the_notebook_spelling():
    report = minitl.check("relu")
    assert isinstance(report, CheckReport) and report.passed
    assert "relu" in str(report)
    markup = report._repr_html_()  # the shared renderer (minitl/table.py): the printed cells, escaped
    assert markup.startswith("<table") and "relu" in markup and "2 of 2 checks pass" in markup


def test_the_command_refuses_no_name_and_unknown_names(capsys):
    assert main(["check"], out=io.StringIO()) == 1
    assert "name the exercises to check, or --all" in capsys.readouterr().err
    assert main(["check", "conv"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "no exercise named 'conv'" in err and "conv2d" in err


# ----- the student copy -----

@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("fresh")
    make_student_copy(out)
    return out


def _distinctive_solution_lines():
    """Lines of the regions that appear nowhere else in the package (a bare ``return order`` does)."""
    found = solution_regions(PACKAGE)
    inside = {line.strip() for regions in found.values() for r in regions for line in r.body}
    outside = set()
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").split("\n")
        relative = path.relative_to(PACKAGE.parent).as_posix()
        skipped = {i for r in found.get(relative, []) for i in range(r.begin, r.end + 1)}
        outside.update(line.strip() for i, line in enumerate(lines) if i not in skipped)
    return {line for line in inside - outside if len(line) > 3 and not line.startswith("#")}


def test_the_student_copy_holds_no_line_of_any_solution(fresh_copy):
    distinctive = _distinctive_solution_lines()
    assert len(distinctive) > 40
    copied = [p for p in (fresh_copy / "minitl").rglob("*") if p.is_file()]
    assert len(copied) > 100  # the whole package came along
    leaked = []
    for path in copied:
        lines = {line.strip() for line in path.read_bytes().decode("utf-8", errors="replace").split("\n")}
        leaked += [f"{path.relative_to(fresh_copy)}: {line}" for line in sorted(lines & distinctive)]
    assert not leaked, "\n".join(leaked)
    assert not solution_regions(fresh_copy / "minitl")  # and no marker is left to find


def test_make_refuses_an_existing_copy_and_a_student_copy_as_source(fresh_copy, tmp_path, capsys):
    assert main(["exercises", "make", str(fresh_copy)], out=io.StringIO()) == 1
    assert "exists" in capsys.readouterr().err
    with pytest.raises(ValueError, match="already a student copy"):
        make_student_copy(tmp_path / "again", package=fresh_copy / "minitl")
    assert not (tmp_path / "again" / "minitl").exists()


def test_only_stubs_the_chosen_exercises(tmp_path):
    cut = make_student_copy(tmp_path, only=["mul", "minitl/core/ops/conv.py"])
    assert sorted({r.name for r in cut}) == ["conv2d", "mul"]
    remaining = {r.name for regions in solution_regions(tmp_path / "minitl").values() for r in regions}
    assert remaining == set(EXERCISES) - {"mul", "conv2d"}
    with pytest.raises(ValueError, match="no exercise or file"):
        make_student_copy(tmp_path / "other", only=["mull"])


def _run_check(folder, *argv):
    """``python -m minitl check ...`` in ``folder``: the minitl it imports is the copy there."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "minitl", "check", *argv], cwd=folder, capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)  # run() kills the child on timeout
    return done.returncode, done.stdout + done.stderr


def _rows(text):
    """{(exercise, check): (result, rest of the line)} from the printed table."""
    rows = {}
    for line in text.splitlines():
        found = re.match(r"^(\w+)\s{2,}(.+?)\s{2,}(\S+)\s{2,}(pass|FAIL)\b\s*(.*)$", line)
        if found and found.group(1) in EXERCISES:
            rows[found.group(1), found.group(2)] = (found.group(4), found.group(5))
    return rows


def test_every_stub_of_a_fresh_copy_fails_loudly_by_name(fresh_copy):
    status, text = _run_check(fresh_copy, "--all")
    assert status == 1
    for name in EXERCISES:
        assert f"still a stub: {name} — write it, then run: python -m minitl check {name}" in text
        assert _rows(text)[name, "stub replaced by code"][0] == "FAIL"
    assert "0 of 14 checks pass" in text


def _solve(copy, name, change=lambda line: line):
    """Put the full package's region(s) of ``name`` back in place of the stub, each line through ``change``."""
    for relative, regions in solution_regions(PACKAGE).items():
        for region in regions:
            if region.name != name:
                continue
            path = copy / relative
            text = path.read_text(encoding="utf-8")
            stub = stub_line(name, region.indent)
            assert stub in text
            text = text.replace(stub, "\n".join(change(line) for line in region.body), 1)
            path.write_text(text, encoding="utf-8")


@pytest.fixture
def copy(tmp_path):
    make_student_copy(tmp_path)
    return tmp_path


def test_a_solved_exercise_passes_and_the_next_one_still_names_its_stub(copy):
    for name in ("recording_rule", "topological_order", "mul"):
        _solve(copy, name)
    status, text = _run_check(copy, "recording_rule", "topological_order", "mul", "sum")
    assert status == 1
    rows = _rows(text)
    for name in ("recording_rule", "topological_order", "mul"):
        mine = [result for (exercise, _), (result, _) in rows.items() if exercise == name]
        assert mine and set(mine) == {"pass"}, text
    assert rows["sum", "stub replaced by code"] == ("FAIL", "still a stub: sum (Sum.backward in minitl/core/ops/"
                                                            "reduce.py)")
    assert "exercises: 3 pass, 1 FAIL (sum)" in text


def test_a_check_that_needs_another_exercise_says_which(copy):
    _solve(copy, "mul")  # but not the autograd under it
    status, text = _run_check(copy, "mul")
    assert status == 1
    assert _rows(text)["mul", "gradient: x * y, same shape"] == ("FAIL", "needs recording_rule first (still a "
                                                                        "stub: recording_rule)")


def test_a_sign_flip_in_mul_fails_with_its_error_and_hint(copy):
    for name in ("recording_rule", "topological_order"):
        _solve(copy, name)
    _solve(copy, "mul", lambda line: line.replace("grad * self.y", "-grad * self.y"))
    status, text = _run_check(copy, "mul")
    assert status == 1
    rows = _rows(text)
    assert rows["mul", "forward values (all cases)"][0] == "pass"  # the forward is untouched
    result, hint = rows["mul", "gradient: x * y, same shape"]
    assert result == "FAIL" and hint.startswith("z = x * y: dL/dx = g * y") and "check the signs" in hint
    error = float(re.search(r"gradient: x \* y, same shape\s+(\S+)", text).group(1))
    assert error > 0.5  # -g y against g y: as far off as the gradient is large


def test_a_missing_broadcast_sum_in_unbroadcast_fails_naming_the_shapes(copy):
    for name in ("recording_rule", "topological_order"):
        _solve(copy, name)
    _solve(copy, "unbroadcast", lambda line: line.replace("if grad.shape == shape:", "if True:"))  # never sums
    status, text = _run_check(copy, "unbroadcast")
    assert status == 1
    result, hint = _rows(text)["unbroadcast", "gradient: (3, 4) + (4,)"]
    assert result == "FAIL" and "the gradient of input 1 has shape (3, 4), the input has shape (4,)" in hint
    assert "the gradient of a broadcast input is a sum" in hint


def test_a_sum_backward_that_does_not_broadcast_fails_with_its_hint(copy):
    for name in ("recording_rule", "topological_order", "unbroadcast"):
        _solve(copy, name)
    _solve(copy, "sum", lambda line: line.replace(
        "get_array_module(grad).broadcast_to(restore_reduced(grad, self.axes, self.keepdims), self.shape)", "grad"))
    status, text = _run_check(copy, "sum")
    assert status == 1
    for label in ("all elements", "axis 1", "axes (0, 2), keepdims"):
        result, hint = _rows(text)["sum", f"gradient: {label}"]
        assert result == "FAIL" and "put the reduced axes back (size 1) and broadcast g" in hint


def test_the_checker_opens_only_the_copy_it_checks(fresh_copy):
    """An audit hook records every file the check opens: none lies in the full package it was made from."""
    script = (
        "import json, sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == 'open' and "
        "isinstance(args[0], (str, bytes)) else None)\n"
        "import minitl\n"
        "from minitl.cli import main\n"
        "status = main(['check', '--all'])\n"
        "twins = sorted(op.__name__ for op in minitl.seams.fast_paths)\n"
        "json.dump({'status': status, 'minitl': minitl.__file__, 'opened': opened, 'twins': twins}, "
        "open('audit.json', 'w'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", script], cwd=fresh_copy, capture_output=True, timeout=TIMEOUT, env=env)
    audit = json.loads((fresh_copy / "audit.json").read_text())
    assert audit["status"] == 1 and Path(audit["minitl"]).resolve().is_relative_to(fresh_copy.resolve())
    # the copy runs the student's conv2d and max_pool2d (their twins are off there); we don't, and batch norm,
    # whose op is no exercise, keeps its twin in both
    assert audit["twins"] == ["BatchNorm"] and {"Conv2d", "MaxPool2d"} <= {op.__name__ for op in seams.fast_paths}
    opened = [Path(os.fsdecode(p)).resolve() for p in audit["opened"]]
    in_the_copy = [p for p in opened if p.is_relative_to(fresh_copy.resolve() / "minitl")]
    assert any(p.name == "expected.npz" for p in in_the_copy)  # it did read the copy's stored values
    assert not [p for p in opened if p.is_relative_to(PACKAGE)], "the check opened the full package's files"
    assert not [p for p in opened if "minitl" in p.parts and not p.is_relative_to(fresh_copy.resolve())]


# ----- docs -----

def test_the_cli_parses_the_exercise_commands():
    args = build_parser().parse_args(["exercises", "make", "out/", "--only", "mul,conv2d"])
    assert args.only == "mul,conv2d" and args.out == "out/"
    assert build_parser().parse_args(["check", "--all"]).all


def test_stored_values_are_small_and_cover_every_case():
    from minitl.exercises.cases import CASES, SGD_CASES
    from minitl.exercises.checker import EXPECTED
    assert EXPECTED.stat().st_size < 64 * 1024
    with numpy.load(EXPECTED) as stored:
        assert set(stored.files) == {case.key for case in CASES + SGD_CASES}
    tree = ast.parse((PACKAGE / "exercises" / "checker.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "open"]


def test_the_console_command_in_a_copy_folder_refuses_to_check_another_minitl(fresh_copy, monkeypatch, capsys):
    """``minitl check`` (the console script) puts no folder first on sys.path: in a copy's folder it would
    import the installed minitl, ours, and pass. It refuses, saying how to run it on the copy."""
    monkeypatch.chdir(fresh_copy)
    assert main(["check", "mul"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "this folder holds a student copy" in err and "python -m minitl check" in err
