"""SGD: one step and a few steps equal torch.optim.SGD on the same weights and gradients; param groups;
skipping parameters without a gradient; state_dict round trip."""
import numpy
import pytest

import minitl
from html_tables import assert_same_cells
from minitl import nn, optim
from minitl.core.tensor import Tensor
from parity import torch_or_skip


def make_pair(torch, device="cpu", seed=0):
    """A minitl Linear(4, 3) and two torch tensors holding the same weight and bias."""
    minitl.manual_seed(seed)
    layer = nn.Linear(4, 3).to(device)
    torch_params = [torch.nn.Parameter(torch.tensor(p.numpy())) for p in layer.parameters()]
    return layer, torch_params


def set_grads(params, torch_params, torch, rng, device="cpu"):
    for p, tp in zip(params, torch_params):
        g = rng.standard_normal(p.shape).astype(numpy.float32)
        p.grad = Tensor(g, device=device)
        tp.grad = torch.tensor(g)


def assert_same(params, torch_params):
    for p, tp in zip(params, torch_params):
        numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("options", [
    dict(),
    dict(momentum=0.9),
    dict(momentum=0.9, dampening=0.3),
    dict(momentum=0.9, nesterov=True),
    dict(momentum=0.9, weight_decay=0.01),
    dict(momentum=0.5, nesterov=True, weight_decay=0.1),
    dict(weight_decay=0.05),
])
def test_sgd_steps_match_torch(options, device, rng):
    torch = torch_or_skip()
    layer, torch_params = make_pair(torch, device)
    ours = optim.SGD(layer, lr=0.1, **options)
    theirs = torch.optim.SGD(torch_params, lr=0.1, **options)
    for _ in range(4):
        set_grads(list(layer.parameters()), torch_params, torch, rng, device)
        ours.step()
        theirs.step()
        assert_same(layer.parameters(), torch_params)


def test_param_groups_with_their_own_lr_match_torch(rng):
    torch = torch_or_skip()
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    torch_params = [torch.nn.Parameter(torch.tensor(p.numpy())) for p in model.parameters()]
    ours = optim.SGD([{"params": model[0].parameters()},
                      {"params": model[1].parameters(), "lr": 0.5, "momentum": 0.0}], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": torch_params[:2]},
                              {"params": torch_params[2:], "lr": 0.5, "momentum": 0.0}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in ours.param_groups] == [0.1, 0.5]
    assert ours.param_groups[1]["momentum"] == 0.0 and ours.param_groups[0]["momentum"] == 0.9
    for _ in range(3):
        set_grads(list(model.parameters()), torch_params, torch, rng)
        ours.step()
        theirs.step()
    assert_same(model.parameters(), torch_params)
    # changing a group's lr after construction takes effect at the next step
    ours.param_groups[1]["lr"] = 0.0
    before = model[1].weight.numpy().copy()
    model[1].weight.grad = Tensor(numpy.ones((2, 3), dtype=numpy.float32))
    ours.step()
    numpy.testing.assert_array_equal(model[1].weight.numpy(), before)


def test_parameter_without_grad_is_skipped_and_keeps_its_state():
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer, lr=0.1, momentum=0.9)
    layer.weight.grad = Tensor(numpy.ones((2, 3), dtype=numpy.float32))
    layer.bias.grad = Tensor(numpy.ones(2, dtype=numpy.float32))
    opt.step()
    layer.bias.grad = None
    bias_before = layer.bias.numpy().copy()
    buffer_before = opt.state[layer.bias]["momentum_buffer"].copy()
    opt.step()
    numpy.testing.assert_array_equal(layer.bias.numpy(), bias_before)
    numpy.testing.assert_array_equal(opt.state[layer.bias]["momentum_buffer"], buffer_before)
    report = opt.last_step_report()
    assert report["bias"]["status"] == "no grad" and report["bias"]["update_norm"] == 0.0
    assert report["weight"]["status"] == "updated" and report["weight"]["update_norm"] > 0


def test_state_dict_round_trip_resumes_identically(rng):
    def build():
        minitl.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
        return model, optim.SGD([{"params": model[0].parameters()},
                                 {"params": model[1].parameters(), "lr": 0.05}], lr=0.1, momentum=0.9,
                                weight_decay=0.01)

    grads = [[rng.standard_normal(p.shape).astype(numpy.float32) for p in build()[0].parameters()]
             for _ in range(5)]

    def step(model, opt, g):
        for p, gi in zip(model.parameters(), g):
            p.grad = Tensor(gi)
        opt.step()

    straight_model, straight = build()
    for g in grads:
        step(straight_model, straight, g)

    first_model, first = build()
    for g in grads[:3]:
        step(first_model, first, g)
    saved_weights = {k: v.copy() for k, v in first_model.state_dict().items()}
    saved = first.state_dict()
    step(first_model, first, grads[3])  # a step after saving must not change the saved state
    assert sorted(saved["state"]) == [0, 1, 2, 3]
    assert saved["param_groups"][1]["params"] == [2, 3] and saved["param_groups"][1]["lr"] == 0.05

    resumed_model, resumed = build()
    resumed_model.load_state_dict(saved_weights)
    resumed.load_state_dict(saved)
    for g in grads[3:]:
        step(resumed_model, resumed, g)
    for a, b in zip(resumed_model.parameters(), straight_model.parameters()):
        numpy.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_refuses_a_different_layout():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    saved = optim.SGD(model, lr=0.1).state_dict()
    with pytest.raises(ValueError, match="param groups"):
        optim.SGD([{"params": model[0].parameters()}, {"params": model[1].parameters()}], lr=0.1) \
            .load_state_dict(saved)


def test_constructor_errors_are_clear():
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(layer)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(layer, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one param group"):
        optim.SGD([{"params": [layer.weight]}, {"params": [layer.weight]}], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(layer.weight, lr=0.1)


def test_closure_and_zero_grad():
    layer = nn.Linear(2, 1)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    x = Tensor(numpy.ones((3, 2), dtype=numpy.float32))

    def closure():
        opt.zero_grad()
        loss = (layer(x) * layer(x)).mean()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, Tensor) and layer.weight.grad is not None
    opt.zero_grad()
    assert all(p.grad is None for p in layer.parameters())


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(lr="0.01"), TypeError, ["lr must be a number", "'0.01'", "lr=0.01, without quotes"]),
    (dict(lr=0.1, momentum="0.9"), TypeError, ["momentum must be a number", "'0.9'"]),
    (dict(lr=0.1, weight_decay=None), TypeError, ["weight_decay must be a number", "None"]),
    (dict(lr=True), TypeError, ["lr must be a number", "True"]),
    (dict(lr=-0.1), ValueError, ["lr must be >= 0", "-0.1"]),
    (dict(lr=0.1, momentum=-0.5), ValueError, ["momentum must be >= 0", "-0.5"]),
])
def test_sgd_hyperparameters_of_the_wrong_type_or_value_are_named(kwargs, error, words):
    with pytest.raises(error) as caught:
        optim.SGD(nn.Linear(2, 2), **kwargs)
    for word in words:
        assert word in str(caught.value)


def test_last_step_report_shows_itself_as_an_html_table_with_the_printed_numbers():
    model = nn.Sequential(nn.Linear(3, 2))
    model.add_module("a<b>&c", nn.Linear(2, 1))
    model[0].freeze()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    model(Tensor(numpy.ones((2, 3), dtype=numpy.float32))).sum().backward()
    optimizer.step()
    report = optimizer.last_step_report()
    markup = report._repr_html_()
    assert_same_cells(str(report), markup)
    assert "a&lt;b&gt;&amp;c.weight" in markup and "<b>" not in markup
    assert f"{report['a<b>&c.weight']['update_norm']:.3e}" in markup and "frozen" in markup
