"""Param groups: what a group may hold, how its lr_scale applies, and how parameters are named and matched."""
import gc

import numpy
import pytest

import minitl
from minitl import nn, optim


class Net(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, classes)

    def forward(self, x):
        return self.head(self.body(x))


def train_step(model, optimizer):
    optimizer.zero_grad()
    model(minitl.tensor(numpy.ones((2, 4), numpy.float32))).sum().backward()
    optimizer.step()


def test_a_groups_lr_scale_multiplies_the_modules_lr_scale():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    model[0].lr_scale = 0.5
    opt = optim.SGD([{"params": model[0], "lr_scale": 0.1}, {"params": model[1]}], lr=1.0)
    train_step(model, opt)
    report = opt.last_step_report()
    assert report["0.weight"]["lr"] == pytest.approx(0.05)   # 1.0 × group 0.1 × module 0.5
    assert report["1.weight"]["lr"] == pytest.approx(1.0)


def test_an_unknown_group_key_is_refused_with_the_accepted_ones():
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"'weight_decya'.*accepted: params, lr_scale.*weight_decay"):
        optim.SGD([{"params": model.parameters(), "weight_decya": 0.1}], lr=0.1)


def test_a_set_of_parameters_is_refused_like_torch():
    model = nn.Linear(4, 2)
    with pytest.raises(TypeError, match="not a set.*list, or the model"):
        optim.SGD(set(model.parameters()), lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD([{"params": set(model.parameters())}], lr=0.1)


def test_a_parameter_in_two_groups_is_named_by_its_dotted_name():
    model = Net()
    with pytest.raises(ValueError, match=r"parameter head\.weight appears in more than one param group"):
        optim.SGD([{"params": model.head.parameters()}, {"params": [model.head.weight]}], lr=0.1)


def test_an_optimizer_built_from_the_head_still_finds_the_new_head_after_a_replacement():
    model = Net()
    model.body.freeze()
    opt = optim.SGD(model.head.parameters(), lr=0.1)   # parameters only: no Module handed in
    train_step(model, opt)
    model.head = nn.Linear(4, 3)
    gc.collect()                                        # the old head, and its parameters' owner, are gone
    with pytest.warns(optim.UnknownParameterWarning, match="head.weight, head.bias"):
        train_step(model, opt)
    assert opt.sync().added == ["head.weight", "head.bias"]
    before = model.head.weight.data.copy()
    train_step(model, opt)
    assert not numpy.array_equal(before, model.head.weight.data)


def test_load_state_dict_refuses_adam_state_in_sgd_and_changes_nothing():
    model = nn.Linear(4, 2)
    adam = optim.Adam(model, lr=0.01)
    train_step(model, adam)
    sgd = optim.SGD(model, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="no momentum, dampening, nesterov.*another optimizer than SGD"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.param_groups[0]["lr"] == 0.1 and "betas" not in sgd.param_groups[0] and not sgd.state


def test_load_state_dict_checks_the_saved_hyperparameters():
    model = nn.Linear(4, 2)
    opt = optim.SGD(model, lr=0.1)
    saved = opt.state_dict()
    saved["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="param group 0 of the loaded state: SGD: lr must be >= 0"):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1


def test_state_is_matched_by_name_when_a_group_grew_in_another_order():
    model = Net()
    model.body.freeze()
    first = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    train_step(model, first)
    model.body.unfreeze()
    first.sync(model)                                    # head, then body
    train_step(model, first)
    second = optim.Adam(model, lr=0.01)                  # body, then head
    second.load_state_dict(first.state_dict())
    for p in model.parameters():
        numpy.testing.assert_array_equal(second.state[p]["exp_avg"], first.state[p]["exp_avg"])
