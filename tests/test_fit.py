"""The spine's training loop (core/fit.py): the five-line step and fit; the full loop runs the same step."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.core.fit import fit, train_step
from minitl.core.ops.loss import cross_entropy
from minitl.train import fit as full_fit


def _model_and_batches(seed=0):
    minitl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    rng = numpy.random.default_rng(seed)
    batches = [(minitl.tensor(rng.normal(size=(16, 4))), minitl.tensor(rng.integers(0, 3, size=16)))
               for _ in range(4)]
    return model, batches


def test_train_step_is_zero_grad_forward_backward_update():
    model, batches = _model_and_batches()
    x, y = batches[0]
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    for p in model.parameters():  # a stale gradient must be forgotten, not added
        p.grad = minitl.tensor(numpy.full(p.shape, 100.0))
    outputs, loss = train_step(model, optimizer, x, y)

    # the same step by hand, from the same weights
    minitl.manual_seed(0)
    twin, _ = _model_and_batches()
    for p, w in zip(twin.parameters(), before):
        p.data[...] = w
    expected = cross_entropy(twin(x), y)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert outputs.shape == (16, 3)
    for p, w, q in zip(model.parameters(), before, twin.parameters()):
        numpy.testing.assert_allclose(p.data, w - 0.1 * q.grad.data, rtol=1e-5, atol=1e-6)


def test_before_backward_returning_false_skips_backward_and_update():
    model, batches = _model_and_batches()
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    seen = []
    train_step(model, optimizer, *batches[0], before_backward=lambda out, loss: seen.append(loss.item()) or False)
    assert len(seen) == 1
    assert all(p.grad is None for p in model.parameters())
    for p, w in zip(model.parameters(), before):
        numpy.testing.assert_array_equal(p.data, w)


def test_fit_lowers_the_loss_and_returns_one_mean_per_epoch():
    model, batches = _model_and_batches()
    model.eval()
    means = fit(model, minitl.optim.SGD(model.parameters(), lr=0.2, momentum=0.9), batches, epochs=5)
    assert model.training
    assert len(means) == 5 and means[-1] < means[0]


def test_fit_refuses_batches_that_yield_nothing():
    model, _ = _model_and_batches()
    with pytest.raises(ValueError, match="yielded nothing"):
        fit(model, minitl.optim.SGD(model.parameters(), lr=0.1), [], epochs=1)


def test_the_full_loop_gives_the_same_weights_as_the_spine_fit():
    """minitl.train.fit (train/loop.py) runs core/fit.py's step: with nothing else switched on, the same weights."""
    model, batches = _model_and_batches()
    fit(model, minitl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), batches, epochs=2)
    twin, _ = _model_and_batches()
    full_fit(twin, minitl.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9), batches, epochs=2, verbose=False)
    for p, q in zip(model.parameters(), twin.parameters()):
        numpy.testing.assert_array_equal(p.data, q.data)
