"""sin cos rsqrt log2 log1p expm1 (float64 gradcheck, PyTorch parity) and the rounding family
floor ceil round trunc sign: PyTorch's values, gradient 0, integers passing through."""
import numpy
import pytest

import minitl
from parity import assert_matches_torch, t64, torch_or_skip

SMOOTH = [
    ("sin", lambda x: x.sin(), lambda t: t.sin(), lambda rng, s: rng.standard_normal(s)),
    ("cos", minitl.cos, lambda t: t.cos(), lambda rng, s: rng.standard_normal(s)),
    ("rsqrt", lambda x: x.rsqrt(), lambda t: t.rsqrt(), lambda rng, s: rng.uniform(0.5, 3.0, s)),
    ("log2", minitl.log2, lambda t: t.log2(), lambda rng, s: rng.uniform(0.5, 3.0, s)),
    ("log1p", lambda x: x.log1p(), lambda t: t.log1p(), lambda rng, s: rng.uniform(-0.5, 3.0, s)),
    ("expm1", minitl.expm1, lambda t: t.expm1(), lambda rng, s: rng.standard_normal(s)),
]
ROUNDING = ["floor", "ceil", "round", "trunc", "sign"]


@pytest.mark.parametrize("name, op, torch_op, sample", SMOOTH, ids=[o[0] for o in SMOOTH])
def test_gradcheck(name, op, torch_op, sample, rng, device):
    assert minitl.gradcheck(op, [t64(sample(rng, (3, 4)), device)])


@pytest.mark.parametrize("name, op, torch_op, sample", SMOOTH, ids=[o[0] for o in SMOOTH])
def test_matches_torch(name, op, torch_op, sample, rng, device):
    assert_matches_torch(op, torch_op, [sample(rng, (3, 4))], device)


@pytest.mark.parametrize("name", ROUNDING)
def test_rounding_matches_torch_with_zero_gradient(name, device):
    values = numpy.array([-2.5, -1.7, -0.5, -0.0, 0.0, 0.4, 0.5, 1.5, 2.5, 3.2], dtype=numpy.float32)
    assert_matches_torch(lambda x: getattr(x, name)(), lambda t: getattr(t, name)(), [values], device)
    x = t64(values, device)
    getattr(minitl, name)(x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.zeros(10))


def test_round_decimals_and_integers_pass_through():
    torch = torch_or_skip()
    values = numpy.array([1.234, -5.678, 0.125], dtype=numpy.float32)
    numpy.testing.assert_allclose(minitl.tensor(values).round(decimals=2).numpy(),
                                  torch.from_numpy(values).round(decimals=2).numpy())
    ints = minitl.tensor([3, -2])
    assert ints.floor().dtype == numpy.int64 and ints.floor().tolist() == [3, -2]
    assert ints.sign().tolist() == [1, -1]


def test_smooth_ops_on_integers_give_float32():
    for name, *_ in SMOOTH:
        assert getattr(minitl, name)(minitl.tensor([1, 2])).dtype == numpy.float32
