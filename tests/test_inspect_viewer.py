"""The step viewer: the page's data equals the engine's record, and a real browser steps through it.

The browser tests drive Debian's chromium (tests/browser.py) and save a screenshot as a test artifact: into
$MINITL_TEST_ARTIFACTS when set, else the test's temporary folder. They skip, saying why, only when chromium or
its driver is missing.
"""
import html
import json
import re
import time

import numpy
import pytest

import minitl
from browser import artifact, browser
from minitl import cli
from minitl.inspect import StepView
from minitl.inspect.viewer import PANELS
from minitl.inspect.viewer_page import render_page
from minitl.models import SmallCNN


def _page_data(path):
    html = path.read_text()
    blob = re.search(r'<script type="application/json" id="minitl-step">(.*?)</script>', html, flags=re.S).group(1)
    return html, json.loads(blob)


def _step(tmp_path, preset=None, seed=0):
    model = SmallCNN(10).freeze_to(2)
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = numpy.random.default_rng(seed)
    x = minitl.tensor(rng.standard_normal((4, 1, 28, 28)))
    y = minitl.tensor(numpy.array([0, 3, 5, 9]))
    path = tmp_path / "step.html"
    record = minitl.inspect.view_step(model, x, y, optimizer, path=path, preset=preset, seed=seed)
    return model, record, path


def test_page_holds_the_recorded_step(tmp_path):
    model, record, path = _step(tmp_path)
    html, data = _page_data(path)
    trace = record["trace"]
    assert [s["op"] for s in data["backward"]] == [s["op"] for s in trace.steps]
    assert len(data["backward"]) == len(trace) == 8  # the loss: LogSoftmax and NLL nodes, as PyTorch
    assert data["panels"] == ["forward", "backward", "update"]
    frozen = [layer for layer in data["backward_layers"] if layer["status"] == "not computed"]
    assert [layer["path"] for layer in frozen][-1] == "backbone.block1.0"
    assert all(layer["path"].startswith(("backbone.block1", "backbone.block2")) for layer in frozen)
    assert len(frozen) == 8
    rows = {r["name"]: r for r in data["update"]}
    assert rows["backbone.block1.0.weight"]["grad_norm"] == "not computed"
    assert rows["backbone.block1.0.weight"]["update_norm"] == "0"
    assert rows["head.weight"]["update_norm"] == f"{record['step_report']['head.weight']['update_norm']:.3e}"
    assert float(data["loss_after"]) < float(data["loss_before"])  # one SGD step on the same batch helps
    settings = data["settings"]
    assert settings["seed"] == 0 and settings["optimizer"] == "SGD" and settings["hyperparameters"]["lr"] == 0.05
    assert settings["frozen_parameters"][0] == "backbone.block1.0.weight" and settings["labels"] == [0, 3, 5, 9]
    # self-contained: no external script, style sheet, image or font
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html) and "@import" not in html
    # the forward panel: frozen layers recorded nothing
    forward = {layer["path"]: layer for layer in data["forward"]}
    assert not forward["backbone.block2.3"]["recorded"] and forward["backbone.block3.0"]["recorded"]
    assert forward["head"]["output_shape"] == [4, 10]


def test_same_seed_and_settings_recreate_the_same_step(tmp_path):
    minitl.manual_seed(7)
    _, first, _ = _step(tmp_path)
    minitl.manual_seed(7)  # the same initial weights: the page's checksum says so
    _, second, _ = _step(tmp_path)
    assert first["settings"] == second["settings"]
    assert first["loss_after"] == second["loss_after"] and first["backward"] == second["backward"]
    minitl.manual_seed(8)
    _, third, _ = _step(tmp_path)
    assert third["settings"]["weights_sha256_before"] != first["settings"]["weights_sha256_before"]


def test_preset_hides_panels_and_unknown_ones_are_refused(tmp_path):
    _, _, path = _step(tmp_path, preset="backward")
    assert _page_data(path)[1]["panels"] == ["backward"]
    model = SmallCNN(10)
    with pytest.raises(ValueError, match="unknown preset panel"):
        minitl.inspect.view_step(model, None, None, None, path=None, preset="sideways")


def test_cli_view_step(tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert cli.main(["view-step", "--freeze-to", "2", "--batch-size", "4", "--out", str(out)]) == 0
    assert "8 backward nodes" in capsys.readouterr().out
    assert len(_page_data(out)[1]["backward"]) == 8


def test_browser_steps_through_every_backward_node(tmp_path):
    started = time.perf_counter()
    _, record, path = _step(tmp_path)
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    driver = browser()
    try:
        driver.get(path.resolve().as_uri())
        text = lambda element_id: driver.find_element(By.ID, element_id).text  # noqa: E731
        expected = [(s["op"], s["module"] or "(no layer: the loss)") for s in record["trace"].steps]
        seen = []
        for index in range(len(expected)):
            assert text("step-counter") == f"step {index + 1} of {len(expected)}"
            seen.append((text("node-op"), text("node-module")))
            assert text("node-formula") == record["trace"].steps[index]["formula"]
            if index + 1 < len(expected):
                driver.find_element(By.ID, "next").click()
        assert seen == expected  # node names in the order backward ran them
        assert not driver.find_element(By.ID, "next").is_enabled()
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
        assert text("step-counter") == f"step {len(expected) - 1} of {len(expected)}"
        # the frozen prefix is greyed and says "not computed"
        greyed = driver.find_elements(By.CSS_SELECTOR, "#backward-layers .layer.not-computed")
        assert len(greyed) == 8 and all("not computed" in box.text for box in greyed)
        assert all(box.text.startswith(("backbone.block1", "backbone.block2")) for box in greyed)
        frozen_row = driver.find_element(By.CSS_SELECTOR, "#update-table tr.frozen").text
        assert frozen_row.startswith("backbone.block1.0.weight yes") and "not computed" in frozen_row
        assert "before the update" in text("loss-line")
        assert text("loss-after") == (f"loss on the same batch after the update: {record['loss_after']} "
                                      f"(before: {record['loss_before']})")
        assert driver.save_screenshot(artifact(tmp_path, "step_viewer.png"))
    finally:
        driver.quit()
    print(f"browser test: {time.perf_counter() - started:.1f} s")


def test_update_panel_shows_lr_times_scale_and_explains_frozen_batchnorm_and_cancelled_biases(tmp_path):
    model = SmallCNN(10).freeze_to(2)
    model.backbone.block3.lr_scale = 0.1
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.05)
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal((4, 1, 28, 28)))
    record = minitl.inspect.view_step(model, x, minitl.tensor(numpy.array([0, 3, 5, 9])), optimizer,
                                      path=tmp_path / "step.html")
    html, data = _page_data(tmp_path / "step.html")
    rows = {r["name"]: r for r in data["update"]}
    assert rows["backbone.block3.0.weight"]["lr"] == "0.05 x 0.1 = 0.005" and rows["head.weight"]["lr"] == \
        "0.05 x 1 = 0.05"
    assert rows["backbone.block1.0.weight"]["lr"] == "-"
    # a conv bias right before a BatchNorm that uses batch statistics: its gradient is round-off, and the page says why
    assert "subtracts each channel's batch mean" in rows["backbone.block3.0.bias"]["note"]
    assert record["step_report"]["backbone.block3.0.bias"]["grad_norm"] < 1e-5 * \
        record["step_report"]["backbone.block3.0.weight"]["grad_norm"]
    assert rows["backbone.block1.0.bias"]["note"] == "" and rows["head.bias"]["note"] == ""  # frozen; no BatchNorm
    notes = {layer["path"]: layer["note"] for layer in data["forward"]}
    assert "running statistics" in notes["backbone.block1.1"] and "frozen" in notes["backbone.block2.1"]
    assert notes["backbone.block3.1"] == "" and notes["backbone.block1.0"] == ""
    assert "effective lr = lr x lr_scale" in html


def _ids(page):
    return re.findall(r'\bid="([^"]+)"', page)


def test_each_call_shows_its_viewer_with_ids_of_its_own(tmp_path):
    _, first, path = _step(tmp_path)
    _, second, _ = _step(tmp_path)  # the very same step: only the prefix tells the two apart
    assert isinstance(first, StepView) and isinstance(first, dict)
    for view in (first, second):
        ids = _ids(view.page)
        assert len(ids) == 21 and len(set(ids)) == 21 and all(i.startswith(view.id_prefix) for i in ids)
        # every id the script and the style sheet name is one of the page's own
        named = re.findall(r'getElementById\("([^"]+)"', view.page) + re.findall(r"#([A-Za-z][\w-]*)", view.page)
        named = [name for name in named if not re.fullmatch(r"[0-9a-fA-F]{3,6}", name)]  # colours are not ids
        assert len(named) >= 20 and all(n.startswith(view.id_prefix) for n in named)
        assert set(f"{view.id_prefix}panel-{p}" for p in PANELS) <= set(ids)
    assert first.id_prefix != second.id_prefix and not set(_ids(first.page)) & set(_ids(second.page))
    # the file is the page as before (plain ids), and the inline page is the same page under the prefix
    written = path.read_text()
    assert "id=\"step-counter\"" in written and written == first.page.replace(first.id_prefix, "")
    with pytest.raises(ValueError, match="id_prefix"):
        render_page("{}", "1 bad\"")


def test_the_viewer_goes_into_the_cell_as_an_escaped_sandboxed_iframe(tmp_path):
    _, view, path = _step(tmp_path)
    markup = view._repr_html_()
    frame = re.fullmatch(r'<div class="minitl-step-view"><iframe srcdoc="([^"]*)" sandbox="allow-scripts" '
                         r'title="([^"]*)" style="width:100%;height:(\d+)px;[^"]*"></iframe>'
                         r'<div style="[^"]*">([^<]*)</div></div>', markup)
    assert frame, markup[:300]
    assert html.unescape(frame.group(1)) == view.page  # the attribute round-trips to the page
    assert "<script" not in markup and "<" not in frame.group(1)
    assert 600 <= int(frame.group(3)) <= 1600
    # the text fallback, under the frame and as repr: where the file is and what the step did
    text = repr(view)
    assert text.splitlines()[0] == f"step viewer of one training step of SmallCNN, written to {path}: open it in " \
                                   "a browser"
    assert (f"loss {view['loss_before']} before the update, {view['loss_after']} after it (same batch); 8 backward "
            "nodes ran; 14 parameters, 8 frozen") in text
    assert html.unescape(frame.group(4)) == text.replace("\n", " ")
    model = SmallCNN(10)
    unwritten = minitl.inspect.view_step(model, minitl.tensor(numpy.zeros((2, 1, 28, 28))),
                                         minitl.tensor(numpy.array([0, 1])),
                                         minitl.optim.SGD(model.parameters(), lr=0.1), path=None, preset="update")
    assert "SmallCNN, not written (path=None)" in repr(unwritten) and 'id="' in unwritten.page
    assert unwritten.frame_height() < view.frame_height()  # one panel shown: a shorter frame


def test_browser_runs_two_inline_viewers_on_one_page_apart(tmp_path):
    """Two viewers as two cells would show them, on one page: each frame steps on its own."""
    _, first, _ = _step(tmp_path)
    _, second, _ = _step(tmp_path, preset="backward", seed=1)
    page = tmp_path / "cells.html"
    page.write_text(f"<!DOCTYPE html><html><body>{first._repr_html_()}<p>between</p>{second._repr_html_()}"
                    "</body></html>", encoding="utf-8")
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver = browser()
    try:
        driver.get(page.resolve().as_uri())
        frames = driver.find_elements(By.TAG_NAME, "iframe")
        assert len(frames) == 2 and all(f.get_attribute("sandbox") == "allow-scripts" for f in frames)
        counters = []
        for frame, view, clicks in zip(frames, (first, second), (3, 0)):
            driver.switch_to.frame(frame)
            for _ in range(clicks):
                driver.find_element(By.ID, f"{view.id_prefix}next").click()
            counters.append(driver.find_element(By.ID, f"{view.id_prefix}step-counter").text)
            assert driver.find_element(By.ID, f"{view.id_prefix}node-op").text == view["backward"][clicks]["op"]
            driver.switch_to.default_content()
        assert counters == ["step 4 of 8", "step 1 of 8"]  # clicking in one frame moved only that one
        driver.switch_to.frame(frames[1])
        assert not driver.find_element(By.ID, f"{second.id_prefix}panel-forward").is_displayed()  # its preset
        driver.switch_to.default_content()
        assert driver.save_screenshot(artifact(tmp_path, "step_viewer_inline.png"))
    finally:
        driver.quit()
