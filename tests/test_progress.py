"""The shared progress bar: step counts for training, megabytes for downloads."""
import io
import sys
import types

import numpy

import minitl
from minitl import progress
from minitl.progress import make_bar, progress_mode
from minitl.train import fit


def test_byte_bar_shows_percent_and_megabytes():
    stream = io.StringIO()
    bar = make_bar("lines", 26_400_000, "train-images.gz", stream=stream, unit="B")
    bar.update(8_200_000)
    assert stream.getvalue() == ""  # 'lines' mode draws only the finished line
    bar.close()
    line = stream.getvalue()
    assert line.startswith("train-images.gz [#########-----") and " 31% 8.2/26.4 MB " in line


def test_step_bar_counts_steps_and_metrics():
    stream = io.StringIO()
    bar = make_bar("lines", 4, "epoch 1/3", stream=stream)
    bar.update(4, {"loss": 0.5, "acc": None})
    bar.close()
    assert "] 4/4 loss 0.500 " in stream.getvalue() and "acc" not in stream.getvalue()


def test_silent_when_asked_or_not_a_terminal():
    assert progress_mode(False) is None
    assert progress_mode(None, io.StringIO()) is None
    assert progress_mode(True, io.StringIO()) == "lines"


def test_a_bar_over_long_units_writes_a_line_per_update_in_lines_mode():
    stream = io.StringIO()
    bar = make_bar("lines", 3, "compare", stream=stream, unit="run", every_update=True)
    bar.update(1, {"last": "fe n=1"})
    assert stream.getvalue().startswith("compare [##########----") and "1/3 last fe n=1" in stream.getvalue()
    bar.update(2, {"last": "ft n=1"})
    bar.close()
    assert [line.split("] ")[1][:3] for line in stream.getvalue().splitlines()] == ["1/3", "2/3"]


def test_every_update_changes_nothing_on_a_live_bar():
    stream = io.StringIO()
    bar = make_bar("live", 3, "compare", stream=stream, unit="run", every_update=True)
    bar.update(1)
    bar.close()
    assert stream.getvalue().count("\n") == 1


class _Handle:
    def __init__(self, calls):
        self.calls = calls

    def update(self, obj, **options):
        self.calls.append(("update", obj, options))


def _fake_ipython(monkeypatch, kernel=True):
    """An IPython whose shell is a kernel's (it has ``kernel``) or terminal IPython's; ``display`` records."""
    calls = []

    def display(obj, **options):
        calls.append(("display", obj, options))
        return _Handle(calls)

    shell = types.SimpleNamespace(kernel=object()) if kernel else types.SimpleNamespace()
    ipython, display_module = types.ModuleType("IPython"), types.ModuleType("IPython.display")
    ipython.get_ipython, display_module.display, ipython.display = (lambda: shell), display, display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return calls


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_in_a_kernel_the_bar_is_one_output_updated_in_place(monkeypatch, capsys):
    calls = _fake_ipython(monkeypatch)
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)  # draw every update
    assert progress_mode(None) == progress_mode(True) == "notebook"  # not tqdm, though it is installed
    assert progress_mode(False) is None and progress_mode(True, io.StringIO()) == "lines"  # a stream given wins
    bar = make_bar("notebook", 4, "epoch 1/3")
    for done in range(1, 5):
        bar.update(done, {"loss": 1.0 / done})
    bar.close()
    kinds = [kind for kind, _, _ in calls]
    assert kinds == ["display"] + ["update"] * 5
    assert calls[0][2] == {"raw": True, "display_id": True} and all(o == {"raw": True} for _, _, o in calls[1:])
    texts = [obj["text/plain"] for _, obj, _ in calls]
    assert texts[0].startswith("epoch 1/3 [------------------------------] 0/4")
    assert [t.split("] ")[1].split()[:3] for t in texts[1:5]] == [
        ["1/4", "loss", "1.000"], ["2/4", "loss", "0.500"], ["3/4", "loss", "0.333"], ["4/4", "loss", "0.250"]]
    assert texts[-1].startswith("epoch 1/3 [##############################] 4/4 loss 0.250")
    assert "\r" not in "".join(texts) and capsys.readouterr().err == ""  # nothing on stderr


def test_fit_in_a_kernel_shows_one_bar_per_epoch(monkeypatch, capsys):
    calls = _fake_ipython(monkeypatch)
    minitl.manual_seed(0)
    model = minitl.nn.Sequential(minitl.nn.Linear(3, 2))
    rng = numpy.random.default_rng(0)
    batches = [(minitl.tensor(rng.standard_normal((4, 3)).astype(numpy.float32)),
                minitl.tensor(numpy.array([0, 1, 0, 1]))) for _ in range(3)]
    history = fit(model, minitl.optim.SGD(model.parameters(), lr=0.1), batches, epochs=2)
    shown = [obj["text/plain"] for kind, obj, _ in calls if kind == "display"]
    assert [text.split(" [")[0] for text in shown] == ["epoch 1/2", "epoch 2/2"]
    last = calls[-1][1]["text/plain"]
    assert last.startswith("epoch 2/2 [##############################] 3/3 loss ")
    assert f"loss {history.epochs[-1]['train_loss']:.3f}" in last and capsys.readouterr().err == ""


def test_outside_a_kernel_the_terminal_bar_is_unchanged(monkeypatch):
    calls = _fake_ipython(monkeypatch, kernel=False)  # terminal IPython: no kernel
    assert progress_mode(None, _Terminal()) == "tqdm" and progress_mode(None, io.StringIO()) is None
    monkeypatch.delitem(sys.modules, "IPython")  # a plain script: IPython never imported
    monkeypatch.delitem(sys.modules, "IPython.display")
    assert progress.notebook_display() is None and progress_mode(None) is None
    stream = _Terminal()
    bar = make_bar("live", 2, "epoch 1/1", stream=stream)
    bar.update(2)
    bar.close()
    assert stream.getvalue().startswith("\repoch 1/1 [#") and stream.getvalue().endswith("s\n") and calls == []
