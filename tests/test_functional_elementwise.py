"""Elementwise ops: finite-difference gradients in float64 (with broadcasting, Python scalars, transposed
inputs) and values and gradients against PyTorch in float32, with hypothesis choosing the shapes."""
import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitl
from minitl.core.ops import arithmetic as ew
from minitl.functional import elementwise as more
from parity import assert_matches_torch, away_from_zero, t64, torch_or_skip

HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# (name, minitl op, torch op, input sampler): the sampler keeps inputs where the op is smooth
UNARY = [
    ("exp", minitl.exp, lambda t: t.exp(), lambda rng, s: rng.standard_normal(s)),
    ("log", minitl.log, lambda t: t.log(), lambda rng, s: rng.uniform(0.5, 3.0, s)),
    ("sqrt", minitl.sqrt, lambda t: t.sqrt(), lambda rng, s: rng.uniform(0.5, 3.0, s)),
    ("abs", minitl.abs, lambda t: t.abs(), away_from_zero),
    ("neg", ew.neg, lambda t: -t, lambda rng, s: rng.standard_normal(s)),
    ("clip", lambda x: minitl.clip(x, -0.5, 0.7), lambda t: t.clamp(-0.5, 0.7),
     lambda rng, s: rng.choice([-1.0, 0.0, 1.0], s) + rng.uniform(-0.2, 0.2, s)),
    ("clip_min_only", lambda x: minitl.clamp(x, min=0.1), lambda t: t.clamp(min=0.1), away_from_zero),
    ("pow_scalar", lambda x: x ** 2.5, lambda t: t ** 2.5, lambda rng, s: rng.uniform(0.5, 2.0, s)),
    ("square", lambda x: x ** 2, lambda t: t ** 2, lambda rng, s: rng.standard_normal(s)),
    ("rpow", lambda x: 2.0 ** x, lambda t: 2.0 ** t, lambda rng, s: rng.standard_normal(s)),
]

BINARY = [
    ("add", lambda x, y: x + y, lambda rng, s: rng.standard_normal(s), lambda rng, s: rng.standard_normal(s)),
    ("sub", lambda x, y: x - y, lambda rng, s: rng.standard_normal(s), lambda rng, s: rng.standard_normal(s)),
    ("mul", lambda x, y: x * y, lambda rng, s: rng.standard_normal(s), lambda rng, s: rng.standard_normal(s)),
    ("div", lambda x, y: x / y, lambda rng, s: rng.standard_normal(s), away_from_zero),
    ("pow", lambda x, y: x ** y, lambda rng, s: rng.uniform(0.5, 2.0, s), lambda rng, s: rng.uniform(-2, 2, s)),
    ("maximum", minitl.maximum, lambda rng, s: rng.standard_normal(s), lambda rng, s: rng.standard_normal(s)),
    ("minimum", minitl.minimum, lambda rng, s: rng.standard_normal(s), lambda rng, s: rng.standard_normal(s)),
]
TORCH_BINARY = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "pow": "pow",
                "maximum": "maximum", "minimum": "minimum"}

BROADCAST_SHAPES = [((3, 1, 4), (2, 4)), ((2, 4), (3, 1, 4)), ((), (2, 3)), ((2, 3), ()), ((3,), (2, 3)),
                    ((2, 1), (1, 3)), ((2, 3), (2, 3))]


# ----- finite differences in float64 -----

@pytest.mark.parametrize("name, op, torch_op, sample", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(name, op, torch_op, sample, rng, device):
    assert minitl.gradcheck(op, [t64(sample(rng, (2, 3)), device)])


@pytest.mark.parametrize("name, op, torch_op, sample", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck_on_transposed_input(name, op, torch_op, sample, rng, device):
    x = t64(sample(rng, (3, 2)), device)
    assert minitl.gradcheck(lambda a: op(a.T), [x])


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name, op, sample_x, sample_y", BINARY, ids=[b[0] for b in BINARY])
def test_binary_gradcheck_with_broadcasting(name, op, sample_x, sample_y, shapes, rng, device):
    x, y = t64(sample_x(rng, shapes[0]), device), t64(sample_y(rng, shapes[1]), device)
    assert minitl.gradcheck(op, [x, y])


@pytest.mark.parametrize("name, op, sample_x, sample_y", BINARY, ids=[b[0] for b in BINARY])
def test_binary_gradcheck_on_transposed_inputs(name, op, sample_x, sample_y, rng, device):
    x = minitl.Tensor(sample_x(rng, (4, 3)).T, dtype="float64", requires_grad=True, device=device)
    y = t64(sample_y(rng, (4, 3)), device)
    assert minitl.gradcheck(lambda a, b: op(a, b.T), [x, y])


@pytest.mark.parametrize("op", [
    lambda x: x + 2.0, lambda x: 2.0 + x, lambda x: x - 1.5, lambda x: 1.5 - x, lambda x: x * 3.0,
    lambda x: 3.0 * x, lambda x: x / 2.0, lambda x: 2.0 / x, lambda x: x ** 3, lambda x: 1.5 ** x,
    lambda x: minitl.maximum(x, 0.1), lambda x: minitl.minimum(0.1, x),
], ids=["x+s", "s+x", "x-s", "s-x", "x*s", "s*x", "x/s", "s/x", "x**s", "s**x", "maximum", "minimum"])
def test_python_scalar_operands_gradcheck(op, rng, device):
    assert minitl.gradcheck(op, [t64(away_from_zero(rng, (2, 3)), device)])


def test_pow_with_tensor_exponent_gradcheck(rng, device):
    base, exponent = t64(rng.uniform(0.5, 2.0, (2, 3)), device), t64(rng.uniform(-2, 2, (2, 3)), device)
    assert minitl.gradcheck(lambda b, e: b ** e, [base, exponent])
    assert minitl.gradcheck(lambda e: 3.0 ** e, [exponent])


def test_where_gradcheck_with_broadcasting(rng, device):
    cond = minitl.tensor(rng.standard_normal((3, 1)) > 0, device=device)
    x, y = t64(rng.standard_normal((3, 4)), device), t64(rng.standard_normal((4,)), device)
    assert minitl.gradcheck(lambda a, b: minitl.where(cond, a, b), [x, y])
    assert minitl.gradcheck(lambda a: minitl.where(cond, a, 0.0), [x])


def test_where_sends_gradient_to_the_chosen_side(device):
    cond = minitl.tensor([True, False, True], device=device)
    x = minitl.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = minitl.tensor([10.0, 20.0, 30.0], requires_grad=True, device=device)
    out = minitl.where(cond, x, y)
    numpy.testing.assert_array_equal(out.numpy(), [1.0, 20.0, 3.0])
    out.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])
    numpy.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 0.0])


def test_where_accepts_a_numpy_mask_and_a_comparison(device):
    x = minitl.tensor([-1.0, 2.0], requires_grad=True, device=device)
    numpy.testing.assert_array_equal(minitl.where(x > 0, x, 0.0).numpy(), [0.0, 2.0])
    numpy.testing.assert_array_equal(minitl.where(numpy.array([True, False]), x, -x).numpy(), [-1.0, -2.0])


def test_abs_gradient_is_zero_at_zero(device):
    x = minitl.tensor([-2.0, 0.0, 3.0], requires_grad=True, device=device)
    minitl.abs(x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


# ----- ties and boundaries: against PyTorch, where finite differences are undefined -----

def test_maximum_minimum_ties_split_the_gradient_like_torch(device):
    x = numpy.array([1.0, 2.0, 3.0, -1.0], dtype=numpy.float32)
    y = numpy.array([1.0, 5.0, 3.0, -2.0], dtype=numpy.float32)
    assert_matches_torch(minitl.maximum, lambda a, b: a.maximum(b), [x, y], device)
    assert_matches_torch(minitl.minimum, lambda a, b: a.minimum(b), [x, y], device)


def test_maximum_tie_is_half_half(device):
    x = minitl.tensor([2.0], requires_grad=True, device=device)
    y = minitl.tensor([2.0], requires_grad=True, device=device)
    minitl.maximum(x, y).sum().backward()
    assert x.grad.item() == 0.5 and y.grad.item() == 0.5


# At x exactly on a clamp bound the gradient is a convention. minitl passes it to x, as PyTorch did up to 2.13;
# PyTorch 2.14 sends 0 there for number bounds and splits it half and half with tensor bounds. So the tests compare
# with PyTorch off the bounds and pin minitl's convention on them.
def test_clip_at_its_bounds_matches_torch(device):
    x = numpy.array([-1.0, -0.6, 0.0, 0.69, 2.0], dtype=numpy.float32)
    assert_matches_torch(lambda a: minitl.clip(a, -0.5, 0.7), lambda t: t.clamp(-0.5, 0.7), [x], device)
    on_the_bounds = minitl.tensor(numpy.array([-0.5, 0.7], numpy.float32), requires_grad=True, device=device)
    minitl.clip(on_the_bounds, -0.5, 0.7).sum().backward()
    assert on_the_bounds.grad.numpy().tolist() == [1.0, 1.0]


def test_relu_style_pow_at_zero_matches_torch(device):
    x = numpy.array([0.0, 1.0, 2.0], dtype=numpy.float32)
    assert_matches_torch(lambda a: a ** 2, lambda t: t ** 2, [x], device)


# ----- PyTorch parity in float32, hypothesis chooses shapes -----

@pytest.mark.parametrize("name, op, torch_op, sample", UNARY, ids=[u[0] for u in UNARY])
@HYPOTHESIS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), seed=st.integers(0, 2**16))
def test_unary_matches_torch(name, op, torch_op, sample, device, shape, seed):
    array = sample(numpy.random.default_rng(seed), shape).astype(numpy.float32)
    assert_matches_torch(op, torch_op, [array], device)


@pytest.mark.parametrize("name, op, sample_x, sample_y", BINARY, ids=[b[0] for b in BINARY])
@HYPOTHESIS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
       seed=st.integers(0, 2**16))
def test_binary_matches_torch_with_broadcasting(name, op, sample_x, sample_y, device, shapes, seed):
    torch = torch_or_skip()
    rng = numpy.random.default_rng(seed)
    x = sample_x(rng, shapes.input_shapes[0]).astype(numpy.float32)
    y = sample_y(rng, shapes.input_shapes[1]).astype(numpy.float32)
    assert_matches_torch(op, getattr(torch, TORCH_BINARY[name]), [x, y], device)


@HYPOTHESIS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=4),
       seed=st.integers(0, 2**16))
def test_where_matches_torch(device, shapes, seed):
    torch = torch_or_skip()
    rng = numpy.random.default_rng(seed)
    cond_shape, x_shape, y_shape = shapes.input_shapes
    cond = rng.standard_normal(cond_shape) > 0
    x, y = rng.standard_normal(x_shape).astype(numpy.float32), rng.standard_normal(y_shape).astype(numpy.float32)
    assert_matches_torch(lambda a, b: minitl.where(minitl.tensor(cond, device=device), a, b),
                         lambda a, b: torch.where(torch.from_numpy(numpy.asarray(cond)), a, b), [x, y], device)


def test_cast_and_copy_pass_gradient(device):
    x = minitl.tensor([1.5, -2.0], requires_grad=True, device=device)
    y = more.cast(x, numpy.dtype("float64"))
    assert y.dtype == numpy.float64
    (more.identity_copy(y) * 2.0).sum().backward()
    assert x.grad.dtype == numpy.float32
    numpy.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_pow_gradient_at_zero_with_exponent_zero_is_zero_like_torch(device):
    x = numpy.array([0.0, 1.0, 2.0], dtype=numpy.float32)
    assert_matches_torch(lambda a: a ** 0, lambda t: t ** 0, [x], device)
    assert_matches_torch(lambda a, b: a ** b, lambda t, u: t ** u, [x, numpy.zeros(3)], device)


def _device_of(*operands):
    return next(t.device for t in operands if isinstance(t, minitl.Tensor))


@pytest.mark.parametrize("op", [ew.add, ew.sub, ew.mul, ew.div, ew.pow, more.maximum, more.minimum,
                                lambda x, y: more.where(minitl.tensor([True, False], device=_device_of(x, y)), x, y)],
                         ids=["add", "sub", "mul", "div", "pow", "maximum", "minimum", "where"])
def test_arithmetic_with_integer_operands_stays_float32_like_torch(op, device):
    torch = torch_or_skip()
    floats, ints = minitl.tensor([1.5, 2.0], device=device), minitl.tensor([2, 3], device=device)
    for x, y in [(floats, ints), (ints, floats), (floats, numpy.int64(2)), (numpy.int64(2), floats),
                 (floats, numpy.arange(1, 3)), (floats, True), (ints, 0.5)]:
        assert op(x, y).dtype == numpy.float32, (x, y)
    assert (ints / 2).dtype == (ints / ints).dtype == numpy.float32 == (ints * 0.5).dtype
    assert str((torch.tensor([1, 2]) / 2).dtype) == "torch.float32"  # the rule we follow
    assert (ints * 2).dtype == (ints + ints).dtype == numpy.int64  # integer arithmetic stays integer
    x = minitl.tensor([1.5, 2.0], requires_grad=True, device=device)
    (x * ints).sum().backward()
    assert x.grad.dtype == numpy.float32 and x.grad.numpy().tolist() == [2.0, 3.0]


def test_clamp_with_tensor_bounds_sends_gradient_to_x_where_inside(device):
    torch = torch_or_skip()
    x = minitl.tensor([1.0, 5.0, 3.0], requires_grad=True, device=device)
    low, high = minitl.tensor([2.0, 2.0, 2.0], device=device), minitl.tensor(4.0, dtype="float64", device=device)
    y = x.clamp(min=low, max=high)
    t_x = torch.tensor([1.0, 5.0, 3.0], requires_grad=True)
    t_y = t_x.clamp(min=torch.tensor([2.0, 2.0, 2.0]), max=torch.tensor(4.0))
    y.sum().backward()
    t_y.sum().backward()
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.numpy(), t_y.detach().numpy())
    numpy.testing.assert_array_equal(x.grad.numpy(), t_x.grad.numpy())


# ----- issue 13 regressions -----

@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sigmoid", "tanh"])
def test_unary_float_op_on_integer_tensor_gives_float32(op):
    x = minitl.tensor([1, 2, 3])
    out = getattr(x, op)()
    assert out.dtype == numpy.float32
    torch = torch_or_skip()
    numpy.testing.assert_allclose(out.numpy(), getattr(torch.tensor([1, 2, 3]), op)()
                                  .numpy(), rtol=1e-6)


def test_grad_of_x_to_the_0_is_0_at_infinities_and_zero(device):
    x = minitl.tensor([-numpy.inf, 0.0, 2.0, numpy.inf], requires_grad=True, device=device)
    with numpy.errstate(invalid="ignore"):
        (x ** 0).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 0.0])


# ----- issue 13: // and %, clamp with tensor bounds -----

def test_floor_divide_and_remainder_match_torch(rng, device):
    torch = torch_or_skip()
    x, y = rng.uniform(-5, 5, (3, 4)), away_from_zero(rng, (3, 4), 0.7, 2.0)
    assert_matches_torch(lambda a, b: a % b, lambda a, b: a % b, [x, y], device)
    assert minitl.gradcheck(lambda a, b: a % b, [t64(x, device), t64(y, device)])
    assert minitl.gradcheck(lambda a: 2.5 % a, [t64(y, device)])
    ours = minitl.tensor(x, device=device) // minitl.tensor(y, device=device)
    numpy.testing.assert_array_equal(ours.numpy(), (torch.tensor(x, dtype=torch.float32) //
                                                    torch.tensor(y, dtype=torch.float32)).numpy())
    ints = minitl.tensor([5, -3, 7])
    assert (ints // 2).tolist() == [2, -2, 3] and (ints % 2).tolist() == [1, 1, 1] and (ints // 2).dtype == numpy.int64
    assert (7 // minitl.tensor([2])).tolist() == [3] and (ints // 2.0).dtype == numpy.float32


def test_floor_divide_has_zero_gradient(device):
    x = minitl.tensor([5.0, -3.0], requires_grad=True, device=device)
    (x // 2).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("bounds", ["min", "max", "both", "crossed"])
def test_clamp_with_trainable_tensor_bounds_matches_torch(bounds, device):
    torch = torch_or_skip()
    x = numpy.array([-2.0, -1.1, 0.0, 0.5, 0.9, 2.0, 3.0])  # none on a bound (see above)
    lo, hi = numpy.full(7, -1.0), numpy.full(7, 1.0)
    if bounds == "crossed":
        lo, hi = hi, lo  # lo > hi: PyTorch gives hi everywhere
    pick = {"min": lambda a, b, c: dict(min=b), "max": lambda a, b, c: dict(max=c)}
    kwargs = pick.get(bounds, lambda a, b, c: dict(min=b, max=c))
    assert_matches_torch(lambda a, b, c: minitl.clamp(a, **kwargs(a, b, c)) + 0 * (b + c).sum(),
                         lambda a, b, c: torch.clamp(a, **kwargs(a, b, c)) + 0 * (b + c).sum(), [x, lo, hi], device)


def test_clamp_on_a_tensor_bound_sends_the_gradient_to_x(device):
    x = minitl.tensor([-1.0, 1.0], requires_grad=True, device=device)
    lo = minitl.tensor([-1.0, -1.0], requires_grad=True, device=device)
    hi = minitl.tensor([1.0, 1.0], requires_grad=True, device=device)
    minitl.clamp(x, min=lo, max=hi).sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 1.0]
    assert lo.grad.numpy().tolist() == [0.0, 0.0] and hi.grad.numpy().tolist() == [0.0, 0.0]


def test_clamp_with_tensor_bounds_gradcheck(rng, device):
    x = t64(rng.standard_normal((3, 4)), device)
    lo, hi = t64(rng.uniform(-1, -0.2, (4,)), device), t64(rng.uniform(0.2, 1, (3, 1)), device)
    assert minitl.gradcheck(lambda a, b, c: a.clamp(min=b, max=c), [x, lo, hi])
    constant = minitl.tensor(numpy.full(4, -0.5), dtype="float64", device=device)  # no grad: the old constant path
    assert minitl.gradcheck(lambda a: a.clamp(min=constant), [x])
