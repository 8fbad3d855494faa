"""``minitl compare`` end to end on the bundled data: the JSON fields, the PNGs, the printed tables,
and verdicts that follow the numbers of the run itself (a short protocol keeps the test fast)."""
import html
import io
import json
import os

import numpy
import pytest
from PIL import Image

from html_tables import html_rows
from minitl import weights as registry
from minitl.cli import main
from minitl.compare import ComparisonResult, Protocol, compare, load_task, results_text, write_reports
from minitl.compare.grid import DEFAULT_STRATEGIES, TOO_HIGH, parse_strategy
from minitl.compare.protocol import run_seeds
from minitl.compare.report import forgetting_rows, main_rows
from minitl.compare.run import run_one
from minitl.compare.verdicts import verdicts
from minitl.transfer.pretrain import pretrain

pytestmark = pytest.mark.slow  # the comparison grid trains every strategy: the integration part of the suite
SHORT = Protocol(min_steps=12, min_epochs=2)
GRID = (*DEFAULT_STRATEGIES, "lp-ft")


@pytest.fixture(scope="module")
def weights_folder(tmp_path_factory):
    """The shipped weights when they are there; else a quick pretrain on the bundled data (same recipe, 40 steps)."""
    try:
        registry.entry("fashion-paired")
        yield None
        return
    except KeyError:
        pass
    where = tmp_path_factory.mktemp("weights")
    pretrain("paired", subset="mini", steps=40, where=where, verbose=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINITL_WEIGHTS", str(where))
        yield where


def small_task():
    """The paired task with every fifth test image (300 target, 300 source) and 250 calibration images."""
    task = load_task("paired")
    task.target_test = task.target_test.subset(range(0, len(task.target_test), 5))
    task.source_test = task.source_test.subset(range(0, len(task.source_test), 5))
    task.source_calibration = task.source_calibration.subset(range(250))
    return task


@pytest.fixture(scope="module")
def result_and_log(weights_folder):
    """The run, with its progress written to a stream that is not a terminal (a log file, a notebook)."""
    log = io.StringIO()
    result = compare(strategies=GRID, n="1,2", seeds=2, protocol=SHORT, verbose=True, stream=log,
                     task=small_task())
    return result, log.getvalue()


@pytest.fixture(scope="module")
def result(result_and_log):
    return result_and_log[0]


def test_progress_is_one_line_per_finished_run_when_output_is_not_a_terminal(result_and_log):
    result, log = result_and_log
    lines = log.splitlines()
    runs = result["runs"]
    assert len(lines) == len(runs) and "\r" not in log
    for done, (line, run) in enumerate(zip(lines, runs), start=1):
        assert f"] {done}/{len(runs)} " in line
        assert f"{run['strategy']} n={run['n']} seed {run['seed']}" in line
        assert f"acc {100 * run['target_accuracy']:.1f}%" in line


def test_json_has_one_record_per_strategy_n_seed_with_the_fields(result, tmp_path):
    paths = write_reports(result, tmp_path)
    document = json.loads(paths["json"].read_text())
    assert set(document) >= {"settings", "runs", "verdicts"}
    assert document["settings"]["minitl_version"] and document["settings"]["n"] == [1, 2]
    runs = document["runs"]
    assert len(runs) == len(GRID) * 2 * 2
    assert {(r["strategy"], r["n"], r["seed"]) for r in runs} == {
        (s, n, k) for s in GRID for n in (1, 2) for k in (0, 1)}
    for run in runs:
        assert 0.0 <= run["target_accuracy"] <= 1.0 and run["target_test_images"] == 300
        assert run["train_seconds"] > 0 and run["forward_flops_per_step"] > 0 and run["trainable_params"] > 0
        assert set(run["seeds"]) == {"subset", "head", "order"}
    fine_tuned = [r for r in runs if r["n"] == 2 and r["strategy"] in ("ft", "lp-ft", TOO_HIGH)]
    assert fine_tuned and all(0 <= r["source_accuracy"]["raw"] <= 1 and 0 <= r["source_accuracy"]["recalibrated"] <= 1
                              for r in fine_tuned)
    assert all(r["source_accuracy"] is None for r in runs if r["strategy"] in ("scratch", "fe"))
    assert [c["claim"] for c in document["verdicts"]["claims"]] == [1, 2, 3, 4]


def test_runs_record_what_the_strategy_trained(result):
    runs = {(r["strategy"], r["n"], r["seed"]): r for r in result["runs"]}
    fe, ft, scratch = runs[("fe", 1, 0)], runs[("ft", 1, 0)], runs[("scratch", 1, 0)]
    assert fe["cached"] and not ft["cached"]
    assert fe["trainable_params"] == 128 * 5 + 5              # the new head only
    assert fe["backward_flops_per_step"] < ft["backward_flops_per_step"]
    assert ft["trainable_params"] == scratch["trainable_params"]
    assert fe["batch_size"] == 5 and runs[("fe", 2, 0)]["batch_size"] == 10
    assert runs[(TOO_HIGH, 1, 0)]["lr"] == 0.5 and runs[(TOO_HIGH, 1, 0)]["schedule"] == "constant"


def test_pngs_and_pages_are_written(result, tmp_path):
    paths = write_reports(result, tmp_path)
    for key in ("chart_accuracy", "chart_time", "chart_forgetting"):
        image = Image.open(paths[key])
        assert image.format == "PNG" and image.size[0] >= 700
        pixels = numpy.asarray(image.convert("L"))
        assert pixels.std() > 10  # something is drawn, not a blank canvas
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3 and "http" not in page.split("<body>")[1]
    assert "| strategy | n |" in paths["markdown"].read_text()


def test_verdicts_are_the_verdicts_of_the_runs(result):
    """The verdicts stored are those computed from the stored runs; change a number and they follow."""
    assert result["verdicts"] == verdicts(result["runs"], SHORT.lr)
    rigged = [dict(r) for r in result["runs"]]
    for run in rigged:
        if run["n"] == 1:
            run["target_accuracy"] = {"fe": 0.9, "scratch": 0.2}.get(run["strategy"], run["target_accuracy"])
            if run["strategy"] == "fe":
                run["target_accuracy"] += 0.01 * run["seed"]
    assert verdicts(rigged, SHORT.lr)["claims"][0]["holds"] is True
    for run in rigged:
        if run["n"] == 1 and run["strategy"] == "fe":
            run["target_accuracy"] = 0.1
    assert verdicts(rigged, SHORT.lr)["claims"][0]["holds"] is False


def test_printed_text_has_both_tables_verdicts_and_wall_time(result):
    text = results_text(result)
    assert "target acc (mean ± std)" in text and "after BN re-estimation" in text
    verdict_starts = ("   HOLDS:", "   DOES NOT HOLD:", "   not tested")
    judged = [line for line in text.splitlines() if line.startswith(verdict_starts)]
    assert len(judged) == 4
    assert "trade-off at n = 2" in text and "wall time:" in text


def test_same_seed_gives_every_strategy_the_same_start(weights_folder):
    """Pairing: the subset and the new head are the same for fe and ft on seed 0 (and differ on seed 1)."""
    task = load_task("paired")
    from minitl.compare.run import start  # noqa: PLC0415

    seeds = run_seeds(0)
    _, fe_model, fe_subset = start(parse_strategy("fe"), 2, seeds, task)
    _, ft_model, ft_subset = start(parse_strategy("ft"), 2, seeds, task)
    _, other, other_subset = start(parse_strategy("ft"), 2, run_seeds(1), task)
    assert numpy.array_equal(fe_subset.images, ft_subset.images)
    assert numpy.array_equal(fe_model.head.weight.numpy(), ft_model.head.weight.numpy())
    assert not numpy.array_equal(other.head.weight.numpy(), ft_model.head.weight.numpy())
    assert not numpy.array_equal(other_subset.images, ft_subset.images)


def test_a_run_is_repeatable(weights_folder):
    task = small_task()
    first, second = (run_one(parse_strategy("ft"), 1, 0, run_seeds(0), task, SHORT, forgetting=False)
                     for _ in range(2))
    assert first["target_accuracy"] == second["target_accuracy"]


def test_cli_compare_writes_results_and_prints_the_table(weights_folder, tmp_path, capsys):
    assert main(["compare", "--strategies", "fe", "--n", "1", "--seeds", "1", "--out", str(tmp_path / "r"),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "fe" in printed and "not tested: add scratch" in printed and "wall time:" in printed
    assert os.path.isfile(tmp_path / "r" / "compare.json") and os.path.isfile(tmp_path / "r" / "compare.html")


def test_cli_refuses_an_unknown_strategy(weights_folder, capsys):
    assert main(["compare", "--strategies", "nope", "--quiet"]) == 1
    assert "no strategy named 'nope'" in capsys.readouterr().err


def test_reports_name_strategies_in_words_and_explain_their_terms(result, tmp_path):
    """For students: each registry string in words beside it, a glossary, and verdicts numbered once in HTML."""
    text = results_text(result)
    assert f"  {TOO_HIGH} = fine-tune, one lr for all layers, lr 0.5 constant (too high)" in text
    assert "  fe = frozen backbone (feature extraction)" in text
    glossary = text.split("glossary:\n", 1)[1]
    for term in ("  z: ", "  scratch, fe, ft, lp-ft: ", "beyond seed noise: |z| > 2", "(cached):",
                 "  n: labelled target images per class"):
        assert term in glossary
    paths = write_reports(result, tmp_path)
    page = paths["html"].read_text()
    assert "<li value='1'" in page and "<b>1. " not in page  # <ol> numbers the verdicts; "1. 1." before
    assert "<td>fine-tune, one lr for all layers, lr 0.5 constant (too high)</td>" in page
    assert "<dt>beyond seed noise</dt>" in page and "<dt>z</dt>" in page
    assert "## Glossary" in paths["markdown"].read_text()


def test_a_result_shows_its_tables_and_verdicts_in_a_notebook(result, tmp_path):
    markup = result._repr_html_()
    shown = html_rows(markup)
    for row in main_rows(result) + forgetting_rows(result):
        assert list(row) in shown  # every printed cell of both tables, as printed
    assert markup.count("<li value=") == 4 and "<style" not in markup  # inline styles: the notebook keeps its own
    for claim in result["verdicts"]["claims"]:
        assert html.escape(claim["text"], quote=False) in markup
    # still the JSON-able dict it was; a saved compare.json displays the same again
    assert type(result) is ComparisonResult and isinstance(result, dict)
    saved = json.loads(write_reports(result, tmp_path)["json"].read_text())
    assert ComparisonResult(saved)._repr_html_() == markup
