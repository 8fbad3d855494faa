"""The transfer-learning pitfalls of optimizers, as tests: frozen means frozen (no update, momentum or
weight decay, fresh state on unfreeze), lr_scale scales the update (the same under SGD and Adam),
a replaced head is noticed, and the step report shows all of it."""
import warnings

import numpy
import pytest

import minitl
from minitl import nn, optim
from minitl.core.tensor import Tensor
from minitl.models import SmallCNN


def train_step(model, opt, x):
    opt.zero_grad()
    out = model(x)
    (out * out).mean().backward()
    opt.step()


def small_batch(device="cpu"):
    return Tensor(numpy.random.default_rng(0).standard_normal((2, 1, 8, 8)), device=device)


@pytest.mark.parametrize("make_optimizer", [
    lambda m: optim.SGD(m, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda m: optim.AdamW(m, lr=0.01, weight_decay=0.01),
    lambda m: optim.Adam(m, lr=0.01, weight_decay=0.01),
])
def test_freeze_after_three_steps_keeps_weights_bit_identical(make_optimizer, device):
    model = SmallCNN(num_classes=3).to(device)
    opt = make_optimizer(model)
    x = small_batch(device)
    for _ in range(3):
        train_step(model, opt, x)
    block1 = model.backbone.block1
    assert opt.state[block1[0].weight], "momentum / moments exist before freezing"

    model.freeze_to(2)  # block1 and block2 frozen; block3 and head train
    frozen = {name: p.numpy().copy() for name, p in model.named_parameters() if not p.requires_grad}
    assert any(name.startswith("backbone.block1") for name in frozen)
    head_before = model.head.weight.numpy().copy()
    for _ in range(3):
        train_step(model, opt, x)
        # a stale gradient left on a frozen parameter must not be applied either
        block1[0].weight.grad = Tensor(numpy.ones(block1[0].weight.shape), device=device)
    for name, p in model.named_parameters():
        if name in frozen:
            numpy.testing.assert_array_equal(p.numpy(), frozen[name], err_msg=name)
            assert p not in opt.state, f"{name} kept optimizer state while frozen"
    assert not numpy.array_equal(model.head.weight.numpy(), head_before)
    report = opt.last_step_report()
    assert report["backbone.block1.0.weight"]["status"] == "frozen"
    assert report["backbone.block1.0.weight"]["update_norm"] == 0.0
    assert report["head.weight"]["status"] == "updated" and report["head.weight"]["update_norm"] > 0
    assert "frozen" in str(report) and "head.weight" in str(report)


def test_unfreeze_starts_from_fresh_state():
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer, lr=0.1, momentum=0.9)
    for _ in range(3):
        layer.weight.grad = Tensor(numpy.ones((2, 3)))
        opt.step()
    layer.freeze()
    opt.step()
    assert layer.weight not in opt.state
    layer.unfreeze()
    before = layer.weight.numpy().copy()
    layer.weight.grad = Tensor(numpy.ones((2, 3)))
    opt.step()
    # A fresh momentum buffer equals the gradient: the step is exactly lr * grad, no stale velocity.
    numpy.testing.assert_allclose(opt.state[layer.weight]["momentum_buffer"], numpy.ones((2, 3)))
    numpy.testing.assert_allclose(before - layer.weight.numpy(), 0.1 * numpy.ones((2, 3)), rtol=1e-6)


def test_frozen_before_building_then_unfrozen_trains():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[0].freeze()
    opt = optim.SGD(model, lr=0.1)
    x = Tensor(numpy.ones((4, 3)))
    train_step(model, opt, x)
    assert opt.last_step_report()["0.weight"]["status"] == "frozen"
    model[0].unfreeze()
    before = model[0].weight.numpy().copy()
    train_step(model, opt, x)
    assert not numpy.array_equal(model[0].weight.numpy(), before)


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01),
])
def test_lr_scale_ratio_0_01_1_holds_for_every_optimizer(make_optimizer):
    minitl.manual_seed(0)
    template = nn.Linear(4, 3)
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(4, 3))
    for layer, scale in zip(model, (0.0, 0.1, 1.0)):
        layer.load_state_dict(template.state_dict())
        layer.lr_scale = scale
    opt = make_optimizer(model)
    rng = numpy.random.default_rng(5)
    for step in range(3):
        grads = {"weight": rng.standard_normal((3, 4)), "bias": rng.standard_normal(3)}
        before = [p.numpy().copy() for p in model.parameters()]
        for layer in model:
            for name in ("weight", "bias"):
                getattr(layer, name).grad = Tensor(grads[name])
        opt.step()
        moves = [numpy.linalg.norm(p.numpy() - b) for p, b in zip(model.parameters(), before)]
        weight_moves = numpy.array(moves[0::2])
        assert weight_moves[0] == 0.0
        # Exact on the first step; later, weight decay sees weights that have already moved apart.
        numpy.testing.assert_allclose(weight_moves[1] / weight_moves[2], 0.1, rtol=1e-3 if step == 0 else 2e-2)
        report = opt.last_step_report()
        assert report["0.weight"]["update_norm"] == 0.0 and report["0.weight"]["lr"] == 0.0
        if step == 0:
            numpy.testing.assert_allclose(
                report["1.weight"]["update_norm"] / report["2.weight"]["update_norm"], 0.1, rtol=1e-5)


def test_lr_scale_is_read_at_every_step_and_multiplies_up_the_tree():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    opt = optim.SGD(model, lr=0.5)
    model.lr_scale = 0.1
    model[1].lr_scale = 10.0  # changed after the optimizer was built
    for p in model.parameters():
        p.grad = Tensor(numpy.ones(p.shape))
    opt.step()
    report = opt.last_step_report()
    assert report["0.weight"]["lr"] == pytest.approx(0.05)
    assert report["1.weight"]["lr"] == pytest.approx(0.5)


def test_replaced_head_warns_once_and_sync_picks_it_up():
    model = SmallCNN(num_classes=4)
    opt = optim.SGD(model, lr=0.1, momentum=0.9)
    x = small_batch()
    train_step(model, opt, x)
    old_head = model.head
    model.replace_head(2)
    with pytest.warns(optim.UnknownParameterWarning, match=r"head\.weight.*head\.bias|sync"):
        train_step(model, opt, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_step(model, opt, x)  # warned once per parameter, not at every step
    head_before = model.head.weight.numpy().copy()
    report = opt.sync(model)
    assert report.added == ["head.weight", "head.bias"]
    assert len(report.removed) == 2 and "not in the model" in report.removed[0]
    assert all(p is not old_head.weight for p in opt.parameters())
    train_step(model, opt, x)
    assert not numpy.array_equal(model.head.weight.numpy(), head_before)
    assert opt.last_step_report()["head.weight"]["status"] == "updated"


def test_add_param_group_picks_up_a_new_layer_with_its_own_lr():
    model = nn.Sequential(nn.Linear(2, 2))
    opt = optim.SGD(model[0].parameters(), lr=0.1)
    model.append(nn.Linear(2, 1))  # a layer added after the optimizer was built
    x = Tensor(numpy.ones((3, 2)))
    with pytest.warns(optim.UnknownParameterWarning, match="1.weight"):
        train_step(model, opt, x)
    opt.add_param_group({"params": model[1], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.0
    train_step(model, opt, x)
    assert opt.last_step_report()["1.weight"]["lr"] == pytest.approx(0.01)


def test_requires_grad_off_is_skipped_as_pytorch_skips_it_and_keeps_its_state():
    """PyTorch's idiom is not freezing: no gradient, so no update and no weight decay, but the momentum
    buffer is kept and used again when the gradient comes back. Checked against torch.optim.SGD."""
    torch = pytest.importorskip("torch")
    layer = nn.Linear(3, 2)
    twin = torch.nn.Linear(3, 2)
    twin.weight.data[...] = torch.tensor(layer.weight.numpy())
    twin.bias.data[...] = torch.tensor(layer.bias.numpy())
    opt = optim.SGD(layer, lr=0.1, momentum=0.9, weight_decay=0.01)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    rng = numpy.random.default_rng(3)
    for step, weight_off in enumerate([False, False, True, True, False]):
        layer.weight.requires_grad = twin.weight.requires_grad = not weight_off
        x = rng.standard_normal((4, 3)).astype(numpy.float32)
        opt.zero_grad()
        twin_opt.zero_grad()
        (layer(Tensor(x)) ** 2).sum().backward()
        (twin(torch.tensor(x)) ** 2).sum().backward()
        before = layer.weight.numpy().copy()
        opt.step()
        twin_opt.step()
        numpy.testing.assert_allclose(layer.weight.numpy(), twin.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(layer.bias.numpy(), twin.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
        if weight_off:
            assert not layer.frozen and not layer.weight.frozen
            numpy.testing.assert_array_equal(layer.weight.numpy(), before)  # not even weight decay
            assert layer.weight in opt.state  # the momentum buffer waits for the gradient to come back
            assert opt.last_step_report()["weight"]["status"] == "no grad"


def test_frozen_drops_state_where_requires_grad_off_keeps_it():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3))
    opt = optim.SGD(model, lr=0.1, momentum=0.9)
    x = Tensor(numpy.ones((2, 3)))
    train_step(model, opt, x)
    model[0].freeze()
    model[1].requires_grad_(False)
    train_step(model, opt, x)
    report = opt.last_step_report()
    assert report["0.weight"]["status"] == "frozen" and model[0].weight not in opt.state
    assert report["1.weight"]["status"] == "no grad" and model[1].weight in opt.state
