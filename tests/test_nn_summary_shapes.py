"""summary() and the CLI's --input-shape take the same shapes, with or without the batch axis."""
import io

import pytest

from html_tables import assert_same_cells
from minitl import nn
from minitl.cli import main
from minitl.models import MLP, SmallCNN
from minitl.nn.summary import batched_input_shape


def test_summary_accepts_shapes_with_and_without_the_batch_axis():
    model = SmallCNN(5)
    without = model.summary((1, 28, 28), print_table=False)
    with_batch = model.summary((1, 1, 28, 28), print_table=False)
    assert [r["output_shape"] for r in without.rows] == [r["output_shape"] for r in with_batch.rows]
    assert without.rows[-1]["output_shape"] == (1, 5)
    assert model.summary((8, 1, 28, 28), print_table=False).rows[-1]["output_shape"] == (8, 5)


def test_summary_is_a_method_of_every_module_not_only_the_reference_models():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    report = model.summary((4,), print_table=False)
    assert report.rows[-1]["output_shape"] == (1, 2)
    assert sum(r["params"] for r in report.rows) == 4 * 3 + 3 + 3 * 2 + 2


def test_batched_input_shape_rules():
    assert batched_input_shape(SmallCNN(), (1, 28, 28)) == (1, 1, 28, 28)
    assert batched_input_shape(SmallCNN(), (4, 1, 28, 28)) == (4, 1, 28, 28)
    assert batched_input_shape(MLP([784, 10]), (784,)) == (1, 784)
    with pytest.raises(ValueError,
                       match=r"input shape \(28, 28\) does not fit SmallCNN.*\(C, H, W\) or \(N, C, H, W\)"):
        batched_input_shape(SmallCNN(), (28, 28))


@pytest.mark.parametrize("shape", ["1,28,28", "1,1,28,28"])
def test_cli_input_shape_takes_the_same_shapes(shape):
    out = io.StringIO()
    assert main(["summary", "smallcnn", "--num-classes", "5", "--input-shape", shape], out=out) == 0
    assert "(1, 5)" in out.getvalue()


def test_summary_shows_itself_as_an_html_table_with_the_printed_numbers(capsys):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    model.add_module("a<b>&c", nn.Linear(3, 2))
    model[0].freeze()
    report = model.summary((4,))
    printed = capsys.readouterr().out
    assert printed == str(report) + "\n"  # the terminal behaviour: printed, and the same Summary returned
    markup = report._repr_html_()
    assert_same_cells(str(report), markup)
    assert "a&lt;b&gt;&amp;c" in markup and "a<b>" not in markup
    assert "Total params: 23" in markup and "Trainable params: 8" in markup


def test_summary_prints_in_a_terminal_and_only_shows_itself_in_a_notebook(capsys, monkeypatch):
    import minitl.nn.summary as summary_wing  # noqa: PLC0415

    model = nn.Sequential(nn.Linear(4, 3))
    report = model.summary((4,))
    assert capsys.readouterr().out == str(report) + "\n"
    model.summary((4,), print_table=False)
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(summary_wing, "notebook_display", lambda: print)  # as in a Jupyter kernel
    shown = model.summary((4,))
    assert capsys.readouterr().out == "" and "<table" in shown._repr_html_()
    model.summary((4,), print_table=True)
    assert capsys.readouterr().out == str(shown) + "\n"
