"""step_report against numbers computed directly from the weights; explain() in words."""
import numpy
import pytest

import minitl
from html_tables import assert_same_cells
from minitl import nn
from minitl.models import SmallCNN


def _step(model, optimizer, rng):
    x = minitl.tensor(rng.standard_normal((4, 1, 28, 28)))
    loss = nn.functional.cross_entropy(model(x), minitl.tensor(numpy.array([0, 1, 2, 3])))
    loss.backward()
    optimizer.step()


def test_step_report_matches_direct_computation(rng):
    model = SmallCNN(10).freeze_to(2)
    model.head.lr_scale = 10.0
    reference = {k: v.copy() for k, v in model.state_dict().items()}
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.05)
    _step(model, optimizer, rng)
    report = minitl.inspect.step_report(model, optimizer, reference=reference)

    assert [r["name"] for r in report] == [name for name, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        row = report[name]
        w, w0 = p.numpy().astype(numpy.float64), reference[name].astype(numpy.float64)
        assert row["weight_norm"] == pytest.approx(numpy.linalg.norm(w), rel=1e-6)
        if name.startswith(("backbone.block1", "backbone.block2")):
            assert row["frozen"] and row["grad_norm"] == "not computed"
            assert row["update_norm"] == 0.0 and row["lr"] is None and numpy.array_equal(w, w0)
            continue
        lr = 0.05 * (10.0 if name.startswith("head") else 1.0)
        assert row["lr"] == pytest.approx(lr)
        assert row["grad_norm"] == pytest.approx(numpy.linalg.norm(p.grad.numpy().astype(numpy.float64)), rel=1e-5)
        # plain SGD: the update is -lr * grad, and it is what moved the weight, up to the float32 rounding
        # of w0 + update (half an ulp of each weight; it matters for a conv bias whose gradient is ~0)
        # (a Python float: pytest 9 refuses a NumPy float32 as a tolerance)
        rounding = float(numpy.linalg.norm(numpy.spacing(numpy.abs(reference[name])))) / 2
        assert row["update_norm"] == pytest.approx(numpy.linalg.norm(w - w0), rel=1e-3, abs=rounding)
        assert row["update_norm"] == pytest.approx(lr * row["grad_norm"], rel=1e-5)
        assert row["update_ratio"] == pytest.approx(row["update_norm"] / numpy.linalg.norm(w), rel=1e-6)
        if numpy.linalg.norm(w0):
            assert row["drift"] == pytest.approx(numpy.linalg.norm(w - w0) / numpy.linalg.norm(w0), rel=1e-3,
                                                 abs=rounding / float(numpy.linalg.norm(w0)))
    text = str(report)
    assert "backbone.block1.0.weight  yes" in text and "not computed" in text
    assert "14 parameters, 8 frozen" in text


def test_step_report_without_reference_has_no_drift(rng):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.1)
    x = minitl.tensor(rng.standard_normal((2, 1, 28, 28)))
    model(x).sum().backward()
    optimizer.step()
    report = minitl.inspect.step_report(model, optimizer)
    assert all(r["drift"] is None for r in report)
    assert report["1.weight"]["status"] == "updated"


def test_explain_says_what_each_flag_does():
    model = SmallCNN(10).freeze_to(2)
    model.head.lr_scale = 10.0
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.01)
    lines = minitl.inspect.explain(model, optimizer, print_text=False).splitlines()
    assert lines[0] == "backbone.block1.0: frozen — no gradient, no graph recorded, skipped by SGD"
    assert lines[1].endswith("BatchNorm uses running statistics")
    assert lines[4] == "backbone.block3.0: trainable — gets a gradient, updated with lr 0.01"
    assert lines[-1] == "head: trainable — gets a gradient, updated with lr 0.1 (lr_scale product 10)"
    # a frozen layer above a trainable one still passes gradients down: the graph is recorded there
    model.unfreeze()
    model.backbone.block3.freeze()
    text = minitl.inspect.explain(model, print_text=False)
    assert "backbone.block3.0: frozen — no gradient, gradients pass through to the trainable layers below" in text


def test_step_report_and_explain_tell_frozen_from_no_grad(rng):
    model = SmallCNN(10)
    model.backbone.block1.freeze()
    for p in model.backbone.block2.parameters():  # PyTorch's idiom: no gradient, but not frozen
        p.requires_grad = False
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.05)
    _step(model, optimizer, rng)
    report = minitl.inspect.step_report(model, optimizer)
    frozen, no_grad = report["backbone.block1.1.weight"], report["backbone.block2.1.weight"]
    assert frozen["frozen"] and not frozen["no_grad"] and frozen["status"] == "frozen"
    assert no_grad["no_grad"] and not no_grad["frozen"] and no_grad["status"] == "no grad"
    assert no_grad["grad_norm"] == "not computed" and no_grad["update_norm"] == 0.0
    lines = {line.split()[0]: line for line in str(report).splitlines()}
    assert "yes" in lines["backbone.block1.1.weight"] and "no grad" in lines["backbone.block2.1.weight"]
    assert "14 parameters, 4 frozen" in str(report) and "4 no grad" in str(report)
    text = minitl.inspect.explain(model, optimizer, print_text=False)
    assert "backbone.block1.1: frozen — no gradient" in text and "BatchNorm uses running statistics" in text
    assert ("backbone.block2.1: no grad (requires_grad off, not frozen) — no gradient, so SGD has nothing to "
            "apply, BatchNorm uses batch statistics and updates its running ones") in text


def test_drift_is_the_relative_distance_from_the_reference():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    reference = {k: v.copy() for k, v in model.state_dict().items() if k != "1.bias"}
    reference["0.bias"] = numpy.zeros_like(reference["0.bias"])   # a zero start has no relative drift
    model[0].weight.data = model[0].weight.data * 1.5                # moved by half its norm
    model[1].running_var.data = model[1].running_var.data * 0.25     # a buffer counts too: moved by 3/4
    drifts = minitl.inspect.drift(model, reference)
    assert "1.bias" not in drifts and {"0.weight", "0.bias", "1.weight", "1.running_var"} <= set(drifts)
    assert drifts["0.weight"] == pytest.approx(0.5, rel=1e-6)
    assert drifts["1.running_var"] == pytest.approx(0.75, rel=1e-6)
    assert drifts["0.bias"] is None and drifts["1.weight"] == 0.0


def test_step_report_shows_itself_as_an_html_table_with_the_printed_numbers(rng):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
    model.add_module("a<b>&c", nn.Linear(3, 2))
    model[1].freeze()
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.1)
    model(minitl.tensor(rng.standard_normal((2, 1, 28, 28)))).sum().backward()
    optimizer.step()
    report = minitl.inspect.step_report(model, optimizer)
    markup = report._repr_html_()
    assert_same_cells(str(report), markup)
    assert "a&lt;b&gt;&amp;c.weight" in markup and "<b>" not in markup
    assert f"{report['a<b>&c.weight']['update_norm']:.3e}" in markup and "not computed" in markup
    assert "4 parameters, 2 frozen" in markup
