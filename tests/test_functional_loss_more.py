"""The losses beyond classification: l1, smooth l1, binary cross entropy on probabilities, KL divergence.

Each: float64 gradcheck of input and target, PyTorch parity of values and both gradients (float32)
for every reduction, on every device.
"""
import numpy
import pytest

import minitl
from minitl.functional.distance_loss import l1_loss, smooth_l1_loss
from minitl.functional.probability_loss import binary_cross_entropy, kl_div
from parity import assert_matches_torch, t64, torch_or_skip

REDUCTIONS = ["mean", "sum", "none"]


def _regression_pair(rng):
    x = rng.standard_normal((4, 5)) * 2
    t = x + rng.choice([-1, 1], x.shape) * rng.uniform(0.1, 3.0, x.shape)  # differences clear of 0 and beta
    t[numpy.abs(numpy.abs(x - t) - 1.0) < 0.1] += 0.3  # keep clear of the smooth_l1 kink at |d| = beta = 1
    return x, t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1", "smooth_l1", "smooth_l1_beta"])
def test_distance_losses_gradcheck_and_match_torch(name, reduction, device, rng):
    torch = torch_or_skip()
    ours = {"l1": lambda x, t: l1_loss(x, t, reduction=reduction),
            "smooth_l1": lambda x, t: smooth_l1_loss(x, t, reduction=reduction),
            "smooth_l1_beta": lambda x, t: smooth_l1_loss(x, t, reduction=reduction, beta=0.5)}[name]
    theirs = {"l1": lambda x, t: torch.nn.functional.l1_loss(x, t, reduction=reduction),
              "smooth_l1": lambda x, t: torch.nn.functional.smooth_l1_loss(x, t, reduction=reduction),
              "smooth_l1_beta": lambda x, t: torch.nn.functional.smooth_l1_loss(x, t, reduction=reduction,
                                                                                beta=0.5)}[name]
    x, t = _regression_pair(rng)
    assert minitl.gradcheck(ours, [t64(x, device), t64(t, device)])
    assert_matches_torch(ours, theirs, [x, t], device)


def test_smooth_l1_is_quadratic_inside_beta_and_l1_at_beta_zero(device):
    x, t = minitl.tensor([0.2, -3.0], device=device), minitl.tensor([0.0, 0.0], device=device)
    numpy.testing.assert_allclose(smooth_l1_loss(x, t, reduction="none").numpy(), [0.02, 2.5], rtol=1e-6)
    numpy.testing.assert_allclose(smooth_l1_loss(x, t, beta=0.0, reduction="none").numpy(), [0.2, 3.0], rtol=1e-6)


def _bce_arrays(rng):
    p = rng.uniform(0.05, 0.95, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    weight = rng.uniform(0.5, 2.0, (4, 1))
    return p, t, weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_binary_cross_entropy_gradcheck_and_matches_torch(use_weight, reduction, device, rng):
    torch = torch_or_skip()
    p, t, weight = _bce_arrays(rng)
    w64 = minitl.tensor(weight, dtype="float64", device=device) if use_weight else None
    assert minitl.gradcheck(lambda p, t: binary_cross_entropy(p, t, weight=w64, reduction=reduction),
                            [t64(p, device), t64(t, device)])
    w32 = minitl.tensor(weight, device=device) if use_weight else None
    tw = torch.tensor(weight, dtype=torch.float32) if use_weight else None
    assert_matches_torch(lambda p, t: binary_cross_entropy(p, t, weight=w32, reduction=reduction),
                         lambda p, t: torch.nn.functional.binary_cross_entropy(p, t, weight=tw, reduction=reduction),
                         [p, t], device)


def test_binary_cross_entropy_clamps_log_zero_like_torch(device):
    torch = torch_or_skip()
    p, t = numpy.array([0.0, 1.0, 0.0], dtype=numpy.float32), numpy.array([1.0, 0.0, 0.0], dtype=numpy.float32)
    ours = binary_cross_entropy(minitl.tensor(p, device=device), minitl.tensor(t, device=device), reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none")
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy())  # 100, 100, 0: finite
    assert ours.numpy().tolist() == [100.0, 100.0, 0.0]


def test_binary_cross_entropy_refuses_logits_and_points_to_the_logits_loss():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*binary_cross_entropy_with_logits"):
        binary_cross_entropy(minitl.tensor([2.5, -1.0]), minitl.tensor([1.0, 0.0]))


def test_distance_losses_refuse_different_shapes_naming_both():
    out, target = minitl.tensor(numpy.zeros((4, 1))), minitl.tensor(numpy.zeros(4))
    for fn in (l1_loss, smooth_l1_loss, binary_cross_entropy):
        with pytest.raises(ValueError, match=r"target shape \(4,\) must equal input shape \(4, 1\)"):
            fn(out, target)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradcheck_and_matches_torch(log_target, reduction, device, rng):
    torch = torch_or_skip()
    log_q = numpy.log(rng.dirichlet(numpy.ones(5), 3))
    p = rng.dirichlet(numpy.ones(5), 3)
    target = numpy.log(p) if log_target else p
    with pytest.warns(UserWarning, match="batchmean") if reduction == "mean" else _no_warning():
        assert minitl.gradcheck(lambda x, t: kl_div(x, t, reduction=reduction, log_target=log_target),
                                [t64(log_q, device), t64(target, device)])
        assert_matches_torch(
            lambda x, t: kl_div(x, t, reduction=reduction, log_target=log_target),
            lambda x, t: torch.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target),
            [log_q, target], device)


def test_kl_div_is_zero_for_equal_distributions_and_treats_zero_target_as_zero(device):
    p = numpy.array([[0.0, 0.25, 0.75]])
    log_p = numpy.log(numpy.where(p > 0, p, 1e-30))
    loss = kl_div(minitl.tensor(log_p, device=device), minitl.tensor(p, device=device), reduction="batchmean")
    assert abs(loss.item()) < 1e-6


def _no_warning():
    import contextlib  # noqa: PLC0415
    return contextlib.nullcontext()
