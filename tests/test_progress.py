"""The shared progress bar: step counts for training, megabytes for downloads."""
import io

from minitl.progress import make_bar, progress_mode


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
