"""Checking minitl against its two oracles: PyTorch (values and gradients in float32) and finite
differences (``minitl.gradcheck`` on float64 inputs built here).

Test files import it as ``from parity import ...`` (pytest puts tests/ on sys.path).
"""
import numpy
import pytest

import minitl


def torch_or_skip():
    """The PyTorch oracle, or skip the test when it is not installed."""
    return pytest.importorskip("torch")


def t64(array, device="cpu", requires_grad=True):
    """A float64 minitl tensor, the precision ``minitl.gradcheck`` needs."""
    return minitl.tensor(array, dtype="float64", requires_grad=requires_grad, device=device)


def away_from_zero(rng, shape, low=0.5, high=2.0):
    """Values of either sign with magnitude in [low, high): clear of kinks and poles at zero."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def assert_matches_torch(ours_fn, torch_fn, arrays, device, rtol=1e-4, atol=1e-5, rng=None):
    """Run both on the same float32 inputs, backward the same random upstream gradient, compare.

    Checks the output's dtype (float32), shape and values, then every input gradient's dtype (float32),
    shape and values. ``rng`` draws the upstream gradient; without it a fresh ``default_rng(0)`` does.
    """
    torch = torch_or_skip()
    arrays = [numpy.asarray(a, dtype=numpy.float32) for a in arrays]
    ours = [minitl.tensor(a, requires_grad=True, device=device) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), torch_fn(*theirs)
    assert out.dtype == numpy.float32 and out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    rng = numpy.random.default_rng(0) if rng is None else rng
    upstream = rng.standard_normal(out.shape).astype(numpy.float32)
    out.backward(minitl.tensor(upstream, device=device))
    expected.backward(torch.from_numpy(upstream))
    for x, t in zip(ours, theirs):
        assert x.grad.dtype == numpy.float32 and x.grad.shape == x.shape
        numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
