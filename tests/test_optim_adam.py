"""Adam and AdamW: steps equal torch.optim.Adam / AdamW on the same weights and gradients."""
import numpy
import pytest

import minitl
from minitl import nn, optim
from minitl.core.tensor import Tensor
from parity import torch_or_skip


@pytest.mark.parametrize("name, options", [
    ("Adam", dict()),
    ("Adam", dict(weight_decay=0.01)),
    ("Adam", dict(betas=(0.8, 0.99), eps=1e-6, amsgrad=True)),
    ("AdamW", dict()),
    ("AdamW", dict(weight_decay=0.1, amsgrad=True)),
])
def test_adam_steps_match_torch(name, options, device, rng):
    torch = torch_or_skip()
    minitl.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3)).to(device)
    torch_params = [torch.nn.Parameter(torch.tensor(p.numpy())) for p in model.parameters()]
    ours = getattr(optim, name)(model, lr=1e-2, **options)
    theirs = getattr(torch.optim, name)(torch_params, lr=1e-2, **options)
    for _ in range(5):
        for p, tp in zip(model.parameters(), torch_params):
            g = rng.standard_normal(p.shape).astype(numpy.float32)
            p.grad = Tensor(g, device=device)
            tp.grad = torch.tensor(g)
        ours.step()
        theirs.step()
        for p, tp in zip(model.parameters(), torch_params):
            numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)
    state = ours.state[model[0].weight]
    assert state["step"] == 5 and state["exp_avg"].shape == (4, 5)


def test_adamw_default_weight_decay_and_decoupling():
    layer = nn.Linear(3, 2)
    assert optim.AdamW(layer).param_groups[0]["weight_decay"] == 1e-2
    assert optim.Adam(layer).param_groups[0]["weight_decay"] == 0.0
    # With a zero gradient, AdamW still shrinks the weights by exactly lr * wd; Adam's L2 does not
    # give the same step (it goes through the moments).
    weight = layer.weight.numpy().copy()
    opt = optim.AdamW([layer.weight], lr=0.1, weight_decay=0.5)
    layer.weight.grad = Tensor(numpy.zeros_like(weight))
    opt.step()
    numpy.testing.assert_allclose(layer.weight.numpy(), weight * (1 - 0.1 * 0.5), rtol=1e-6)


def test_adam_rejects_bad_betas():
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(nn.Linear(2, 2), betas=(0.9, 1.0))


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
@pytest.mark.parametrize("kwargs, error, words", [
    (dict(lr="1e-3"), TypeError, ["lr must be a number", "'1e-3'", "lr=0.001, without quotes"]),
    (dict(betas=0.9), TypeError, ["betas must be a pair", "0.9"]),
    (dict(betas=("0.9", 0.999)), TypeError, ["betas[0] must be a number", "'0.9'"]),
    (dict(betas=(0.9, 1.0)), ValueError, ["betas[1] must be in [0, 1)", "1.0"]),
    (dict(eps="1e-8"), TypeError, ["eps must be a number", "'1e-8'"]),
    (dict(eps=-1.0), ValueError, ["eps must be >= 0", "-1.0"]),
    (dict(weight_decay="0.01"), TypeError, ["weight_decay must be a number"]),
])
def test_adam_hyperparameters_of_the_wrong_type_or_value_are_named(cls, kwargs, error, words):
    with pytest.raises(error) as caught:
        cls(nn.Linear(2, 2), **kwargs)
    for word in words:
        assert word in str(caught.value)
    assert cls.__name__ in str(caught.value)
