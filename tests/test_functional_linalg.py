"""matmul (1-D, 2-D, batched, broadcast batch) and linear (with and without bias): gradcheck in float64
and values and gradients against PyTorch in float32."""
import numpy
import pytest

import minitl
from minitl.core.ops.linalg import linear
from parity import assert_matches_torch, t64, torch_or_skip

MATMUL_SHAPES = [
    ((3,), (3,)),            # dot product
    ((2, 3), (3,)),          # matrix @ vector
    ((3,), (3, 4)),          # vector @ matrix
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),     # batched @ matrix
    ((2, 3), (5, 3, 4)),     # matrix @ batched
    ((5, 2, 3), (5, 3, 4)),
    ((4, 1, 2, 3), (5, 3, 2)),  # broadcast batch: (4, 1) with (5,)
    ((1, 2, 3), (6, 3, 1)),
    ((3,), (5, 3, 4)),       # vector @ batched
    ((5, 2, 3), (3,)),       # batched @ vector
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_values_and_gradcheck(shapes, rng, device):
    x, y = t64(rng.standard_normal(shapes[0]), device), t64(rng.standard_normal(shapes[1]), device)
    out = minitl.matmul(x, y)
    numpy.testing.assert_allclose(out.numpy(), numpy.matmul(x.numpy(), y.numpy()), rtol=1e-12)
    assert minitl.gradcheck(minitl.matmul, [x, y])


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_matches_torch(shapes, rng, device):
    torch = torch_or_skip()
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    assert_matches_torch(lambda a, b: a @ b, torch.matmul, arrays, device)


def test_matmul_with_one_side_not_requiring_grad(rng, device):
    x = t64(rng.standard_normal((2, 3)), device)
    w = t64(rng.standard_normal((3, 4)), device, requires_grad=False)
    assert minitl.gradcheck(lambda a: a @ w, [x])
    assert minitl.gradcheck(lambda b: x.detach() @ b, [t64(rng.standard_normal((3, 4)), device)])
    assert w.grad is None


def test_matmul_of_transposed_inputs(rng, device):
    x = minitl.Tensor(rng.standard_normal((3, 2)).T, dtype="float64", requires_grad=True, device=device)
    y = t64(rng.standard_normal((4, 3)), device)
    assert minitl.gradcheck(lambda a, b: a @ b.T, [x, y])
    assert minitl.gradcheck(lambda a, b: (b @ a.T).T, [x, y])


def test_rmatmul_with_numpy_on_the_left(rng):
    y = minitl.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    left = numpy.ones((1, 3))
    out = left @ y
    numpy.testing.assert_allclose(out.numpy(), left @ y.numpy(), rtol=1e-6)
    out.sum().backward()
    numpy.testing.assert_allclose(y.grad.numpy(), numpy.ones((3, 2)))


@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 5, 4)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_values_and_gradcheck(x_shape, with_bias, rng, device):
    x, weight = t64(rng.standard_normal(x_shape), device), t64(rng.standard_normal((3, 4)), device)
    inputs = [x, weight] + ([t64(rng.standard_normal(3), device)] if with_bias else [])
    expected = x.numpy() @ weight.numpy().T + (inputs[2].numpy() if with_bias else 0.0)
    out = linear(*inputs)
    assert out.shape == x_shape[:-1] + (3,)
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert minitl.gradcheck(linear, inputs)


@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 5, 4)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch(x_shape, with_bias, rng, device):
    torch = torch_or_skip()
    shapes = [x_shape, (3, 4)] + ([(3,)] if with_bias else [])
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    assert_matches_torch(linear, torch.nn.functional.linear, arrays, device)


def test_linear_with_frozen_weight_gives_input_gradient_only(rng, device):
    x = t64(rng.standard_normal((2, 4)), device)
    weight = t64(rng.standard_normal((3, 4)), device, requires_grad=False)
    bias = t64(rng.standard_normal(3), device)
    assert minitl.gradcheck(lambda a, b: linear(a, weight, b), [x, bias])
    assert weight.grad is None


def test_linear_with_wrong_in_features_names_them():
    weight = minitl.tensor(numpy.zeros((3, 10)))
    with pytest.raises(ValueError, match=r"linear: input has 12 features but the weight expects 10 \(in_features\)"):
        linear(minitl.tensor(numpy.zeros((4, 12))), weight)
    with pytest.raises(ValueError, match="12 features"):
        minitl.nn.Linear(10, 3)(minitl.tensor(numpy.zeros((4, 12))))
