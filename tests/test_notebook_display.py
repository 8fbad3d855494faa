"""What a student sees in a notebook, rendered: a notebook that shows ``model.summary(...)``, trains with the
plain progress bar and ends a cell with ``view_step(...)`` runs in a real Jupyter kernel (nbclient + ipykernel),
is converted to HTML by nbconvert, and headless Chromium (tests/browser.py) must see the summary's table with its
numbers and, inside the viewer's iframe, the step viewer working. The screenshot is kept as an artifact
($MINITL_TEST_ARTIFACTS, else the test's folder): look at it.
"""
import os
import re
from pathlib import Path

import pytest

from browser import artifact, browser
from minitl.models import SmallCNN

pytestmark = pytest.mark.slow  # a kernel, nbconvert and a browser

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    "import numpy\nimport minitl\nfrom minitl.models import SmallCNN\nfrom minitl.train import fit\n"
    "minitl.manual_seed(0)\nmodel = SmallCNN(10).freeze_to(2)",
    "model.summary((1, 28, 28))",
    "optimizer = minitl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)\n"
    "x = minitl.tensor(numpy.random.default_rng(0).standard_normal((4, 1, 28, 28)))\n"
    "y = minitl.tensor(numpy.array([0, 3, 5, 9]))\n"
    "history = fit(model, optimizer, [(x, y)] * 3, epochs=2)",
    "minitl.inspect.view_step(model, x, y, optimizer, path='step.html')",
]


def run_notebook(folder):
    """The notebook of ``CELLS``, executed in a real kernel in ``folder`` (importing this checkout's minitl)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook


def notebook_html(notebook):
    """nbconvert's HTML of ``notebook``, less the scripts and style sheets its template loads from a CDN
    (require.js, MathJax): nothing goes to the network at test time, and nothing shown here needs them."""
    nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is not installed (the test extra has it)")
    body, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    body = re.sub(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", body)
    return re.sub(r"<link[^>]*\shref=\"https?://[^\"]*\"[^>]*>", "", body)


def test_a_notebook_shows_the_tables_the_progress_and_the_step_viewer(tmp_path, monkeypatch):
    pytest.importorskip("nbconvert", reason="nbconvert is not installed (the test extra has it)")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = run_notebook(tmp_path)
    summary, training, viewer = (cell.outputs for cell in notebook.cells[1:])

    expected = SmallCNN(10).freeze_to(2).summary((1, 28, 28), print_table=False)
    shown = next(o for o in summary if o.output_type == "execute_result")
    assert "<table" in shown.data["text/html"] and shown.data["text/plain"] == str(expected)
    assert not [o for o in summary if o.output_type == "stream"]  # shown once, as the value: not printed as well
    # the bar: one output per epoch, redrawn in place (its last text, not its first), nothing on stderr
    bars = [o.data["text/plain"] for o in training if o.output_type == "display_data"]
    assert [bar.split(" [")[0] for bar in bars] == ["epoch 1/2", "epoch 2/2"]
    assert all("] 3/3 loss " in bar for bar in bars) and not [o for o in training if o.output_type == "stream"]
    cell = next(o for o in viewer if o.output_type == "execute_result")
    assert cell.data["text/plain"].startswith("step viewer of one training step of SmallCNN, written to step.html")
    assert (tmp_path / "step.html").is_file()
    prefix = re.search(r'id=&quot;(minitl-step-[0-9a-f]{12}-)title&quot;', cell.data["text/html"]).group(1)

    page = tmp_path / "notebook.html"
    page.write_text(notebook_html(notebook), encoding="utf-8")
    from selenium.webdriver.common.by import By

    driver = browser(window="1200,2400")
    try:
        driver.get(page.resolve().as_uri())
        tables = [t for t in driver.find_elements(By.CSS_SELECTOR, "table.minitl-table") if t.is_displayed()]
        assert len(tables) == 1
        text = tables[0].text
        for line in (f"Total params: {expected.total_params:,}", f"Trainable params: {expected.trainable_params:,}",
                     f"Non-trainable params: {expected.non_trainable_params:,}"):
            assert line in text
        assert all(row["name"] in text for row in expected.rows)
        frames = driver.find_elements(By.CSS_SELECTOR, "iframe[sandbox='allow-scripts']")
        assert len(frames) == 1 and frames[0].is_displayed() and frames[0].size["height"] >= 600
        driver.execute_script("arguments[0].scrollIntoView()", tables[0])
        assert driver.save_screenshot(artifact(tmp_path, "notebook_display.png"))
        driver.switch_to.frame(frames[0])
        assert driver.find_element(By.ID, f"{prefix}title").text == "One training step of SmallCNN"
        assert driver.find_element(By.ID, f"{prefix}step-counter").text == "step 1 of 8"
        driver.find_element(By.ID, f"{prefix}next").click()
        assert driver.find_element(By.ID, f"{prefix}step-counter").text == "step 2 of 8"
        greyed = driver.find_elements(By.CSS_SELECTOR, f"#{prefix}backward-layers .layer.not-computed")
        assert len(greyed) == 8 and all("not computed" in box.text for box in greyed)
        driver.switch_to.default_content()
    finally:
        driver.quit()
