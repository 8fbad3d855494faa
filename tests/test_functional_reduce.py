"""Reductions: gradcheck over every kind of axis and keepdims, ties of max/min against torch.amax/amin,
var with correction, and hypothesis-driven parity with PyTorch in float32."""
import numpy
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitl
from minitl.functional.reductions import amax, amin
from parity import assert_matches_torch, t64, torch_or_skip

HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


def _torch_dim(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {
    "sum": (minitl.sum, lambda t, dim, keep: t.sum(dim=dim, keepdim=keep)),
    "mean": (minitl.mean, lambda t, dim, keep: t.mean(dim=dim, keepdim=keep)),
    "max": (amax, lambda t, dim, keep: t.amax(dim=dim, keepdim=keep)),
    "min": (amin, lambda t, dim, keep: t.amin(dim=dim, keepdim=keep)),
    "var": (minitl.var, lambda t, dim, keep: t.var(dim=dim, keepdim=keep)),
}


# ----- finite differences in float64 -----

@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_gradcheck(name, axis, keepdims, rng, device):
    op = REDUCTIONS[name][0]
    x = t64(rng.standard_normal((2, 3, 4)), device)  # continuous values: no ties for max/min
    out = op(x, axis=axis, keepdims=keepdims)
    expected = getattr(numpy, name)(x.numpy(), axis=axis, keepdims=keepdims, **({"ddof": 1} if name == "var" else {}))
    assert out.shape == expected.shape
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert minitl.gradcheck(lambda a: op(a, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_of_transposed_input_gradcheck(name, rng, device):
    op = REDUCTIONS[name][0]
    x = minitl.Tensor(rng.standard_normal((4, 3)).T, dtype="float64", requires_grad=True, device=device)
    assert minitl.gradcheck(lambda a: op(a, axis=1), [x])
    assert minitl.gradcheck(lambda a: op(a.T, axis=-1, keepdims=True), [x])


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
def test_var_with_correction(correction, axis, rng, device):
    x = t64(rng.standard_normal((3, 4, 2)), device)
    out = minitl.var(x, axis=axis, correction=correction)
    numpy.testing.assert_allclose(out.numpy(), numpy.var(x.numpy(), axis=axis, ddof=correction), rtol=1e-12)
    assert minitl.gradcheck(lambda a: a.var(axis=axis, correction=correction), [x])


def test_reductions_as_methods_and_of_a_scalar(device):
    x = minitl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    assert x.sum().item() == 10.0 and x.mean().item() == 2.5
    assert x.max().item() == 4.0 and x.min().item() == 1.0
    assert x.var().item() == pytest.approx(numpy.var([1, 2, 3, 4], ddof=1))
    scalar = minitl.tensor(3.0, requires_grad=True, device=device)
    scalar.sum().backward()
    assert scalar.grad.item() == 1.0


# ----- ties: the gradient is shared, as torch.amax / torch.amin -----

@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_ties_match_torch_amax_amin(name, axis, keepdims, device):
    tied = numpy.array([[1.0, 3.0, 3.0, 0.0], [3.0, 3.0, 1.0, 0.0], [2.0, 0.0, 0.0, 0.0]], dtype=numpy.float32)
    ours, theirs = REDUCTIONS[name]
    assert_matches_torch(lambda x: ours(x, axis=axis, keepdims=keepdims),
                         lambda t: theirs(t, _torch_dim(axis, 2), keepdims), [tied], device)


def test_max_tie_gradient_values(device):
    x = minitl.tensor([2.0, 5.0, 5.0, 5.0, 1.0], requires_grad=True, device=device)
    x.max().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [0.0, 1 / 3, 1 / 3, 1 / 3, 0.0], rtol=1e-6)


def test_max_with_dim_returns_values_and_indices_like_torch(device):
    torch = pytest.importorskip("torch")
    tied = numpy.array([[1.0, 3.0, 3.0, 0.0], [3.0, 3.0, 1.0, 0.0], [2.0, 0.0, 0.0, 0.0]], dtype=numpy.float32)
    upstream = numpy.array([1.0, 2.0, 3.0], dtype=numpy.float32)
    for name in ["max", "min"]:
        for keepdim in [False, True]:
            x, t = minitl.tensor(tied, requires_grad=True, device=device), torch.tensor(tied, requires_grad=True)
            result, expected = getattr(x, name)(1, keepdim=keepdim), getattr(torch, name)(t, 1, keepdim=keepdim)
            values, indices = result  # a named tuple: unpacks, and has .values / .indices
            assert result.values is values and result.indices is indices
            assert indices.dtype == numpy.int64 and not indices.requires_grad
            numpy.testing.assert_array_equal(values.numpy(), expected.values.detach().numpy())
            numpy.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())  # the first one on ties
            values.backward(minitl.tensor(upstream.reshape(values.shape), device=device))
            expected.values.backward(torch.tensor(upstream.reshape(values.shape)))
            numpy.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # all of it to the picked element
    _, pred = minitl.tensor([[0.1, 0.9], [0.8, 0.2]], device=device).max(1)  # the idiom reads classes
    numpy.testing.assert_array_equal(pred.numpy(), [1, 0])
    assert minitl.max(minitl.tensor(tied, device=device), dim=-1).values.shape == (3,)
    with pytest.raises(TypeError, match="amax"):
        minitl.tensor(tied).max(dim=(0, 1))


def test_max_with_dim_gradcheck(rng, device):
    x = t64(rng.standard_normal((3, 4, 2)), device)
    assert minitl.gradcheck(lambda a: a.max(1).values, [x])
    assert minitl.gradcheck(lambda a: a.min(dim=-1, keepdim=True).values, [x])


def test_amax_amin_methods_share_ties(device):
    x = minitl.tensor([[2.0, 5.0, 5.0], [1.0, 1.0, 0.0]], requires_grad=True, device=device)
    (x.amax(1).sum() + x.amin(dim=1, keepdim=True).sum()).backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.5, 0.5], [0.5, 0.5, 1.0]])  # max ties share 1/2
    numpy.testing.assert_allclose(amax(x, axis=(0, 1)).item(), 5.0)


def test_var_accepts_torchs_older_unbiased_keyword(device):
    x = minitl.tensor([1.0, 2.0, 4.0], device=device)
    assert x.var(unbiased=False).item() == pytest.approx(numpy.var([1, 2, 4]))
    assert x.var(unbiased=True).item() == pytest.approx(numpy.var([1, 2, 4], ddof=1)) == x.var().item()
    with pytest.raises(TypeError, match="not both"):
        x.var(correction=0, unbiased=False)


def test_argmax_is_int64_without_gradient(device):
    x = minitl.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True, device=device)
    out = minitl.argmax(x, axis=1)
    assert out.dtype == numpy.int64 and not out.requires_grad
    numpy.testing.assert_array_equal(out.numpy(), [1, 0])
    assert minitl.argmax(x).item() == 3
    assert minitl.argmax(x, axis=0, keepdims=True).shape == (1, 3)


# ----- PyTorch parity in float32, hypothesis chooses shape and axes -----

@st.composite
def _shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in chosen)  # mix negative axes in
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("name", list(REDUCTIONS))
@HYPOTHESIS
@given(case=_shape_and_axis(), seed=st.integers(0, 2**16))
def test_reduction_matches_torch(name, device, case, seed):
    shape, axis, keepdims = case
    array = numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)
    if name == "var":
        counted = numpy.prod([shape[a] for a in (range(len(shape)) if axis is None else numpy.atleast_1d(axis))])
        assume(counted > 1)  # n - 1 = 0 divides by zero in both libraries
    ours, theirs = REDUCTIONS[name]
    assert_matches_torch(lambda x: ours(x, axis=axis, keepdims=keepdims),
                         lambda t: theirs(t, _torch_dim(axis, len(shape)), keepdims), [array], device)


@HYPOTHESIS
@given(case=_shape_and_axis(), seed=st.integers(0, 2**16), correction=st.sampled_from([0, 1, 2]))
def test_var_correction_matches_torch(device, case, seed, correction):
    shape, axis, keepdims = case
    counted = numpy.prod([shape[a] for a in (range(len(shape)) if axis is None else numpy.atleast_1d(axis))])
    assume(counted > correction)
    array = numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)
    assert_matches_torch(lambda x: minitl.var(x, axis=axis, keepdims=keepdims, correction=correction),
                         lambda t: t.var(dim=_torch_dim(axis, len(shape)), keepdim=keepdims, correction=correction),
                         [array], device)


@HYPOTHESIS
@given(case=_shape_and_axis(), seed=st.integers(0, 2**16))
def test_max_with_many_ties_matches_torch(device, case, seed):
    shape, axis, keepdims = case
    array = numpy.random.default_rng(seed).integers(0, 3, shape).astype(numpy.float32)  # ties everywhere
    assert_matches_torch(lambda x: amax(x, axis=axis, keepdims=keepdims),
                         lambda t: t.amax(dim=_torch_dim(axis, len(shape)), keepdim=keepdims), [array], device)


# ----- issue 13: prod, std, logsumexp, cumsum, argmin, any, all -----

NEW_REDUCTIONS = [
    ("prod_all", lambda x: x.prod(), lambda t: t.prod()),
    ("prod_dim", lambda x: x.prod(1), lambda t: t.prod(1)),
    ("prod_dim_keepdim", lambda x: minitl.prod(x, -1, keepdim=True), lambda t: t.prod(-1, keepdim=True)),
    ("std_all", lambda x: x.std(), lambda t: t.std()),
    ("std_dim_biased", lambda x: x.std(0, correction=0), lambda t: t.std(0, correction=0)),
    ("logsumexp", lambda x: x.logsumexp(1), lambda t: t.logsumexp(1)),
    ("logsumexp_dims_keepdim", lambda x: minitl.logsumexp(x, (0, 2), keepdim=True),
     lambda t: t.logsumexp((0, 2), keepdim=True)),
    ("cumsum", lambda x: x.cumsum(1), lambda t: t.cumsum(1)),
    ("cumsum_last", lambda x: minitl.cumsum(x, -1), lambda t: t.cumsum(-1)),
]


@pytest.mark.parametrize("name, op, torch_op", NEW_REDUCTIONS, ids=[r[0] for r in NEW_REDUCTIONS])
def test_new_reduction_gradcheck(name, op, torch_op, rng, device):
    assert minitl.gradcheck(op, [t64(rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1, 1], (2, 3, 4)), device)])


@pytest.mark.parametrize("name, op, torch_op", NEW_REDUCTIONS, ids=[r[0] for r in NEW_REDUCTIONS])
def test_new_reduction_matches_torch(name, op, torch_op, rng, device):
    assert_matches_torch(op, torch_op, [rng.uniform(0.5, 1.5, (2, 3, 4))], device)


def test_prod_gradient_with_zeros_matches_torch(device):
    data = numpy.array([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 1.0], [1.5, 2.0, 0.5, 1.0]])
    assert_matches_torch(lambda x: x.prod(1), lambda t: t.prod(1), [data], device)
    assert_matches_torch(lambda x: x.prod(), lambda t: t.prod(), [data[2:]], device)
    assert minitl.gradcheck(lambda x: x.prod(1), [t64(data, device)])


def test_logsumexp_is_stable_at_huge_and_minus_inf_values(device):
    torch = torch_or_skip()
    data = numpy.array([[1e4, 1e4 - 1, 0.0], [-numpy.inf, -numpy.inf, -numpy.inf]], dtype=numpy.float32)
    ours = minitl.tensor(data, device=device).logsumexp(1).numpy()
    numpy.testing.assert_allclose(ours, torch.from_numpy(data).logsumexp(1).numpy())


def test_argmin_any_all_match_torch(rng, device):
    torch = torch_or_skip()
    data = rng.standard_normal((3, 4)).astype(numpy.float32)
    x, t = minitl.tensor(data, device=device), torch.from_numpy(data)
    assert x.argmin().item() == t.argmin().item()
    numpy.testing.assert_array_equal(x.argmin(1).numpy(), t.argmin(1).numpy())
    numpy.testing.assert_array_equal(minitl.argmin(x, 0, keepdim=True).numpy(), t.argmin(0, keepdim=True).numpy())
    for name in ("any", "all"):
        positive, tp = x > 0, t > 0
        assert getattr(positive, name)().item() == getattr(tp, name)().item()
        assert getattr(positive, name)().dtype == numpy.bool_
        numpy.testing.assert_array_equal(getattr(positive, name)(1).numpy(), getattr(tp, name)(1).numpy())
        numpy.testing.assert_array_equal(getattr(minitl, name)(positive, 0, keepdim=True).numpy(),
                                         getattr(tp, name)(0, keepdim=True).numpy())


@pytest.fixture
def deterministic_off_afterwards():
    yield
    minitl.use_deterministic_algorithms(False)


@pytest.mark.parametrize("name, op", [("cumsum", lambda x: minitl.cumsum(x, 1)), ("prod", lambda x: x.prod(1))],
                         ids=["cumsum", "prod-backward"])
def test_deterministic_mode_covers_running_sums_and_products(name, op, standin, deterministic_off_afterwards):
    # the stand-in's cumsum/cumprod group their float roundings differently each call, as CuPy's CUB scan may
    data = numpy.random.default_rng(0).uniform(0.9, 1.1, (2, 3000)).astype(numpy.float32)

    def run():
        x = minitl.tensor(data, device="cuda", requires_grad=True)
        y = op(x)
        y.backward(minitl.ones(y.shape, device="cuda"))
        return y.numpy().tobytes() + x.grad.numpy().tobytes()

    minitl.use_deterministic_algorithms(False)
    assert len({run() for _ in range(4)}) > 1  # the bits move run to run: what the switch is for
    minitl.use_deterministic_algorithms(True)
    runs = {run() for _ in range(4)}
    assert len(runs) == 1
    x = minitl.tensor(data, requires_grad=True)  # and they are the CPU's bits
    y = op(x)
    y.backward(minitl.ones(y.shape))
    assert runs == {y.numpy().tobytes() + x.grad.numpy().tobytes()}
