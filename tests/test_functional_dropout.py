"""dropout: reproducible under manual_seed, inverted scaling, identity at inference."""
import numpy
import pytest

import minitl
from minitl.core.ops.activation import dropout


def _ones(shape, device, requires_grad=True):
    return minitl.tensor(numpy.ones(shape), requires_grad=requires_grad, device=device)


def test_mask_is_reproducible_under_manual_seed(device):
    x = _ones((50, 40), device)
    minitl.manual_seed(7)
    first = dropout(x, 0.3).numpy()
    second = dropout(x, 0.3).numpy()
    minitl.manual_seed(7)
    again = dropout(x, 0.3).numpy()
    numpy.testing.assert_array_equal(first, again)
    assert not numpy.array_equal(first, second)  # the generator moves on between calls


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_survivors_are_scaled_and_the_mean_is_preserved(p, device):
    y = dropout(_ones((200, 200), device), p).numpy()
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(numpy.unique(y), [0.0, 1.0 / (1.0 - p)], rtol=1e-6)
    assert (y == 0).mean() == pytest.approx(p, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.03)


def test_gradient_uses_the_same_mask_and_scale(device, rng):
    x = minitl.tensor(rng.standard_normal((30, 20)), requires_grad=True, device=device)
    y = dropout(x, 0.4)
    y.sum().backward()
    kept = y.numpy() != 0
    numpy.testing.assert_allclose(x.grad.numpy(), kept / 0.6, rtol=1e-6)
    numpy.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.6, rtol=1e-6)


def test_gradcheck_with_a_fixed_mask(device, rng):
    x = minitl.tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype="float64", device=device)

    def fixed_mask_dropout(x):
        minitl.manual_seed(3)  # the same mask at every finite-difference evaluation
        return dropout(x, 0.5)

    assert minitl.gradcheck(fixed_mask_dropout, [x])


@pytest.mark.parametrize("p, training", [(0.5, False), (0.0, True)])
def test_identity_in_eval_mode_and_at_p_zero(p, training, device):
    x = _ones((4, 5), device)
    assert dropout(x, p, training=training) is x


def test_p_one_drops_everything(device):
    x = _ones((4, 5), device)
    y = dropout(x, 1.0)
    y.sum().backward()
    assert not y.numpy().any() and not x.grad.numpy().any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_probability_says_so(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        dropout(_ones((2, 2), "cpu"), p)


def test_dropout_mask_is_drawn_on_the_device(standin):
    x = minitl.tensor(numpy.ones((64, 64)), device="cuda", requires_grad=True)
    standin.COUNTS.reset()
    y = dropout(x, p=0.25)
    y.sum().backward()
    assert standin.COUNTS.host_to_device == 0 and standin.COUNTS.device_to_host == 0
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.03
    numpy.testing.assert_array_equal(x.grad.numpy(), (kept / numpy.float32(0.75)).astype(numpy.float32))
