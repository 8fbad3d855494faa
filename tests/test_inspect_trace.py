"""The backward trace: nodes in execution order, gradients checked against a hand derivation, frozen prefixes absent."""
import numpy
import pytest

import minitl
from html_tables import assert_same_cells
from minitl import nn
from minitl.inspect.formula import local_formula
from minitl.models import SmallCNN


def _net_and_input(device="cpu"):
    """Linear(3, 2) - ReLU - Linear(2, 1) with fixed weights, and a batch of two rows."""
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    net[0].weight.data[...] = [[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]]
    net[0].bias.data[...] = [0.1, -0.2]
    net[2].weight.data[...] = [[2.0, -3.0]]
    net[2].bias.data[...] = [0.5]
    x = numpy.array([[1.0, 0.5, 2.0], [-1.0, 1.0, 0.0]], dtype=numpy.float32)
    return net.to(device), x


def _norm(a):
    return float(numpy.sqrt(numpy.sum(numpy.asarray(a, dtype=numpy.float64) ** 2)))


def test_trace_records_each_node_with_hand_derived_gradients(device):
    net, x = _net_and_input(device)
    loss = net(minitl.tensor(x, device=device)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()

    # Hand derivation. h = relu(x W1^T + b1), out = h W2^T + b2, L = sum(out).
    w1, b1, w2 = net[0].weight.numpy(), net[0].bias.numpy(), net[2].weight.numpy()
    pre = x @ w1.T + b1                     # [[1.1, -2.0], [-2.9, -0.3]]
    mask = (pre > 0).astype(numpy.float32)  # only the first unit of the first row is active
    h = pre * mask
    g_out = numpy.ones((2, 1))              # dL/dout
    g_h = g_out @ w2                        # each row is W2
    g_pre = g_h * mask
    expected_w2, expected_b2 = g_out.T @ h, g_out.sum(0)
    expected_w1, expected_b1 = g_pre.T @ x, g_pre.sum(0)

    assert [s["op"] for s in t.steps] == ["SumBackward", "LinearBackward", "ReLUBackward", "LinearBackward"]
    assert [s["module"] for s in t.steps] == ["", "2", "1", "0"]
    assert [s["output_shape"] for s in t.steps] == [(), (2, 1), (2, 2), (2, 2)]
    assert t.steps[0]["grad_output"]["norm"] == pytest.approx(1.0)
    head, relu, first = t.steps[1], t.steps[2], t.steps[3]
    assert head["grad_output"]["norm"] == pytest.approx(_norm(g_out))
    sent = {i["role"]: i for i in head["inputs"]}
    assert sent["x"]["grad"]["norm"] == pytest.approx(_norm(g_h), rel=1e-6)
    assert sent["weight"]["grad"]["norm"] == pytest.approx(_norm(expected_w2), rel=1e-6)
    assert sent["weight"]["parameter"] == "2.weight" and sent["bias"]["grad"]["max"] == pytest.approx(2.0)
    assert sent["bias"]["grad"]["norm"] == pytest.approx(_norm(expected_b2))
    assert relu["inputs"][0]["grad"]["norm"] == pytest.approx(_norm(g_pre), rel=1e-6)
    assert relu["inputs"][0]["grad"]["min"] == pytest.approx(g_pre.min())
    first_sent = {i["role"]: i for i in first["inputs"]}
    assert first_sent["weight"]["grad"]["norm"] == pytest.approx(_norm(expected_w1), rel=1e-6)
    assert first_sent["bias"]["grad"]["max"] == pytest.approx(expected_b1.max())
    # the images need no gradient: nothing is sent to them, and the trace says why
    assert first_sent["x"]["grad"] is None and first_sent["x"]["status"] == "needs none"
    # what Linear kept for backward: its input (2x3) and weight (2x3), float32
    assert first["saved_bytes"] == (6 + 6) * 4
    # the trace's numbers are the real gradients
    numpy.testing.assert_allclose(net[0].weight.grad.numpy(), expected_w1, rtol=1e-6)


def test_frozen_layer_shows_as_not_computed_and_a_frozen_prefix_records_no_node():
    net, x = _net_and_input()
    net[2].freeze()
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()
    head = {i["role"]: i for i in t.steps[1]["inputs"]}
    assert head["weight"]["grad"] is None and head["weight"]["status"] == "frozen"
    assert t.frozen_parameters() == ["2.weight", "2.bias"]
    assert "frozen parameters used but given no gradient: 2.weight, 2.bias" in t.table(print_table=False)

    net, x = _net_and_input()
    net[0].freeze()
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()
    assert [s["module"] for s in t.steps] == ["", "2"]  # no node for layers 0 and 1: backward never went there


def test_partly_frozen_smallcnn_trace_skips_the_frozen_blocks(device):
    model = SmallCNN(10).freeze_to(2).to(device)
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal((2, 1, 28, 28)), device=device)
    loss = nn.functional.cross_entropy(model(x), minitl.tensor(numpy.array([3, 7]), device=device))
    with minitl.inspect.trace() as t:
        loss.backward()
    modules = [s["module"] for s in t.steps]
    assert not any(m.startswith(("backbone.block1", "backbone.block2")) for m in modules)
    assert modules[-1] == "backbone.block3.0" and "head" in modules
    conv = t.steps[-1]
    assert {i["role"]: i["status"] for i in conv["inputs"]} == {"x": "needs none", "weight": "sent", "bias": "sent"}
    table = t.table(print_table=False)
    assert table.splitlines()[0].split()[:3] == ["#", "op", "module"]
    assert f"{len(t.steps)} backward nodes ran" in table


def test_step_shows_the_ops_own_math_comment():
    net, x = _net_and_input()
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()
    text = t.step(1, print_step=False)
    with open(minitl.core.ops.linalg.__file__) as source:
        comment = next(line.strip()[2:] for line in source if "y = x W^T + b" in line)
    assert t.steps[1]["formula"] == comment == local_formula(minitl.core.ops.linalg.Linear)
    assert f"local derivative: {comment}" in text
    assert "-> weight = 2.weight (1, 2): norm" in text


def test_replay_prints_every_node_and_trace_is_off_outside_the_block(capsys):
    net, x = _net_and_input()
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward(retain_graph=True)
    loss.backward()  # outside the block: nothing more is recorded
    assert len(t) == 4
    t.replay()
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("step")] == \
        [f"step {i} of 4" for i in range(1, 5)]
    assert minitl.seams.plugged_in["backward_node"] is None


def test_frozen_parameters_include_a_frozen_prefix_that_recorded_no_node():
    """A frozen prefix records no node, so the steps cannot name its parameters: the trace asks the model
    (it returned [] here for SmallCNN's 8 frozen parameters)."""
    model = SmallCNN(10).freeze_to(2)
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal((2, 1, 28, 28)))
    loss = nn.functional.cross_entropy(model(x), minitl.tensor(numpy.array([3, 7])))
    with minitl.inspect.trace() as t:
        loss.backward()
    expected = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert len(expected) == 8 and all(n.startswith(("backbone.block1", "backbone.block2")) for n in expected)
    assert t.frozen_parameters() == expected and t.used_frozen_parameters() == []
    assert f"backward never went there): {', '.join(expected)}" in t.table(print_table=False)


def _function_classes():
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    for package in ("minitl.functional", "minitl.core.ops"):
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")
    found, todo = [], list(minitl.core.tensor.Function.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return [c for c in found if c.__module__.startswith(("minitl.functional", "minitl.core.ops"))
            and not c.__name__.startswith("_")]


def test_every_op_formula_is_math_and_names_a_vector_jacobian_product_as_such():
    """What the trace and the step viewer show: the op's math, not implementation notes ("see
    _normalized_backward", "via columns ... col2im"); where the arriving gradient appears, the left side says
    dL/d..., the vector-Jacobian product it is, not dz/dx."""
    formulas = {c.__name__: local_formula(c) for c in _function_classes()}
    assert len(formulas) > 60
    for name, formula in formulas.items():
        assert formula, name
        derivative = formula.split(";", 1)[-1]
        for note in ("see ", "_backward", "via columns", "col2im", "along_axis", "autograd.", "cols_"):
            assert note not in formula, (name, formula)
        if any(f" {g}" in f" {derivative}".replace("(", " ") for g in ("g ", "g,", "grad ", "G ")):
            assert "dL/d" in derivative, (name, formula)
    assert formulas["BatchNorm"].startswith("y = gamma x_hat + beta") and "running" in formulas["BatchNorm"]
    assert "dL/dW" in formulas["Conv2d"] and "dL/db = sum of g" in formulas["Conv2d"]


def test_trace_table_explains_its_columns():
    net, x = _net_and_input()
    net[0].freeze()
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()
    table = t.table(print_table=False)
    for column in ("saved bytes =", "|grad in| = norm of g = dL/d(output)", "|grad sent| = norm of dL/d(input)",
                   "vector-Jacobian product", "no gradient = inputs sent none, and why: frozen"):
        assert column in table


def test_trace_shows_itself_as_an_html_table_with_the_printed_numbers():
    net, x = _net_and_input()
    net.add_module("a<b>&c", nn.ReLU())
    loss = net(minitl.tensor(x)).sum()
    with minitl.inspect.trace() as t:
        loss.backward()
    markup = t._repr_html_()
    assert_same_cells(t.table(print_table=False), markup)  # every norm and byte count as printed, the legend too
    assert "a&lt;b&gt;&amp;c" in markup and "<b>" not in markup
    assert repr(t) == "Trace(5 backward nodes)"  # the terminal's repr is unchanged
