"""Activations and the softmax family: gradcheck in float64, parity with PyTorch in float32 (hypothesis
chooses shapes), and numerical stability at huge logits."""
import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitl
from minitl import functional as act
from parity import assert_matches_torch, away_from_zero, t64, torch_or_skip

HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _torch_ops():
    torch = torch_or_skip()
    functional = torch.nn.functional
    return {
        "relu": torch.relu, "leaky_relu": functional.leaky_relu,
        "leaky_relu_0.2": lambda t: functional.leaky_relu(t, 0.2), "elu": functional.elu,
        "elu_0.5": lambda t: functional.elu(t, alpha=0.5), "gelu": lambda t: functional.gelu(t, approximate="tanh"),
        "gelu_exact": functional.gelu, "silu": functional.silu, "mish": functional.mish,
        "hardtanh": functional.hardtanh, "hardtanh_range": lambda t: functional.hardtanh(t, -2.0, 0.5),
        "relu6": functional.relu6, "hardsigmoid": functional.hardsigmoid, "hardswish": functional.hardswish,
        "selu": functional.selu, "logsigmoid": functional.logsigmoid,
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softplus": functional.softplus,
        "softplus_beta": lambda t: functional.softplus(t, beta=2.0, threshold=5.0),
        "softmax": lambda t: t.softmax(-1), "softmax_0": lambda t: t.softmax(0),
        "log_softmax": lambda t: t.log_softmax(-1), "log_softmax_0": lambda t: t.log_softmax(0),
    }


ACTIVATIONS = {
    "relu": minitl.relu, "leaky_relu": act.leaky_relu, "leaky_relu_0.2": lambda x: act.leaky_relu(x, 0.2),
    "elu": act.elu, "elu_0.5": lambda x: act.elu(x, alpha=0.5), "gelu": lambda x: act.gelu(x, approximate="tanh"),
    "gelu_exact": act.gelu, "silu": act.silu, "mish": act.mish, "hardtanh": act.hardtanh,
    "hardtanh_range": lambda x: act.hardtanh(x, -2.0, 0.5), "relu6": act.relu6, "hardsigmoid": act.hardsigmoid,
    "hardswish": act.hardswish, "selu": act.selu, "logsigmoid": act.logsigmoid, "sigmoid": minitl.sigmoid,
    "tanh": minitl.tanh, "softplus": act.softplus, "softplus_beta": lambda x: act.softplus(x, beta=2.0, threshold=5.0),
    "softmax": minitl.softmax, "softmax_0": lambda x: minitl.softmax(x, axis=0), "log_softmax": minitl.log_softmax,
    "log_softmax_0": lambda x: minitl.log_softmax(x, axis=0),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(name, rng, device):
    x = t64(away_from_zero(rng, (3, 4), 0.2, 3.0), device)  # no kinks: relu family is smooth away from 0
    assert minitl.gradcheck(ACTIVATIONS[name], [x])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck_on_transposed_input(name, rng, device):
    x = minitl.Tensor(away_from_zero(rng, (4, 3), 0.2, 3.0).T, dtype="float64", requires_grad=True, device=device)
    assert minitl.gradcheck(ACTIVATIONS[name], [x])
    assert minitl.gradcheck(lambda a: ACTIVATIONS[name](a.T), [x])


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_softmax_family_on_3d_gradcheck(axis, rng, device):
    x = t64(rng.standard_normal((2, 3, 4)), device)
    assert minitl.gradcheck(lambda a: minitl.softmax(a, axis=axis), [x])
    assert minitl.gradcheck(lambda a: a.log_softmax(axis), [x])
    numpy.testing.assert_allclose(minitl.softmax(x, axis=axis).numpy().sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@HYPOTHESIS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 4.0, 30.0]))
def test_activation_matches_torch(name, device, shape, seed, scale):
    array = (numpy.random.default_rng(seed).standard_normal(shape) * scale).astype(numpy.float32)
    assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [array], device)


def test_relu_family_at_zero_matches_torch(device):
    edge = numpy.array([-1.0, -0.0, 0.0, 1.0], dtype=numpy.float32)
    for name in ["relu", "leaky_relu", "elu", "gelu", "softplus"]:
        assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [edge], device)


def test_relu_of_infinities(device):
    x = minitl.tensor([-numpy.inf, numpy.inf, -2.0, 3.0], device=device)
    numpy.testing.assert_array_equal(minitl.relu(x).numpy(), [0.0, numpy.inf, 0.0, 3.0])
    assert minitl.relu(minitl.tensor([-1, 2], device=device)).dtype == numpy.int64


# ----- numerical stability -----

@pytest.mark.parametrize("logits", [[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, -1e4 + 2]], ids=str)
def test_log_softmax_and_softmax_of_huge_logits_match_torch(logits, device):
    array = numpy.array([logits], dtype=numpy.float32)
    for name in ["log_softmax", "softmax"]:
        assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [array], device)
    out = minitl.log_softmax(minitl.tensor(array, requires_grad=True, device=device))
    assert numpy.isfinite(out.numpy()).all()


def test_log_softmax_of_huge_logits_is_finite_without_torch(device):
    x = minitl.tensor([[1e4, 0.0, -1e4]], requires_grad=True, device=device)
    out = minitl.log_softmax(x)
    numpy.testing.assert_allclose(out.numpy(), [[0.0, -1e4, -2e4]], rtol=1e-6)
    out.sum().backward()
    assert numpy.isfinite(x.grad.numpy()).all()


def test_sigmoid_at_huge_inputs_is_finite(device):
    x = minitl.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True, device=device)
    with numpy.errstate(over="raise", invalid="raise"):
        out = minitl.sigmoid(x)
        out.sum().backward()
    numpy.testing.assert_allclose(out.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)
    assert numpy.isfinite(x.grad.numpy()).all()
    assert out.dtype == numpy.float32


def test_softplus_and_tanh_at_huge_inputs_match_torch(device):
    array = numpy.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=numpy.float32)
    for name in ["softplus", "tanh", "sigmoid", "gelu", "elu"]:
        with numpy.errstate(over="raise", invalid="raise"):  # no overflow on the way, not even a warning
            assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [array], device)


@pytest.mark.parametrize("op", [minitl.softmax, minitl.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_refuses_dim_and_axis_together(op):
    x = minitl.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="not both"):
        op(x, dim=0, axis=1)
    numpy.testing.assert_allclose(op(x, axis=0).numpy(), op(x, 0).numpy())
    numpy.testing.assert_allclose(op(x).numpy(), op(x, dim=-1).numpy())


# ----- issue 13: the modern activations at their edges, on integers, and GELU's two forms -----

HARD_EDGES = numpy.array([-7.0, -6.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0], dtype=numpy.float32)


@pytest.mark.parametrize("name", ["hardtanh", "hardtanh_range", "relu6", "hardsigmoid", "hardswish", "selu",
                                  "silu", "mish", "logsigmoid", "gelu_exact"])
def test_new_activations_at_their_kinks_match_torch(name, device):
    assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [HARD_EDGES], device)


@pytest.mark.parametrize("name", ["silu", "mish", "logsigmoid", "selu", "gelu_exact", "hardswish"])
def test_new_activations_at_huge_inputs_match_torch(name, device):
    array = numpy.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=numpy.float32)
    with numpy.errstate(over="ignore"):  # exp(1e4) may overflow on the way to a finite answer, as in PyTorch
        assert_matches_torch(ACTIVATIONS[name], _torch_ops()[name], [array], device)


def test_gelu_default_is_exact_and_tanh_form_is_kept():
    torch = torch_or_skip()
    x = numpy.linspace(-4, 4, 41).astype(numpy.float32)
    exact, tanh_form = act.gelu(minitl.tensor(x)), act.gelu(minitl.tensor(x), approximate="tanh")
    numpy.testing.assert_allclose(exact.numpy(), torch.nn.functional.gelu(torch.from_numpy(x)).numpy(), atol=1e-6)
    assert numpy.abs(exact.numpy() - tanh_form.numpy()).max() > 1e-5  # two different functions
    with pytest.raises(ValueError, match="approximate"):
        act.gelu(minitl.tensor(x), approximate="fast")
    assert act.silu(minitl.tensor([1, 2])).dtype == numpy.float32


def test_erf_fallback_without_scipy_matches(monkeypatch):
    import builtins
    import math

    from minitl.functional import activation as functional_activation
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("no scipy here")
        return real_import(name, *args, **kwargs)

    x = numpy.linspace(-3, 3, 13)
    monkeypatch.setattr(builtins, "__import__", no_scipy)
    out = functional_activation.erf(x)
    assert out.dtype == numpy.float64
    numpy.testing.assert_allclose(out, [math.erf(v) for v in x], rtol=1e-15)
