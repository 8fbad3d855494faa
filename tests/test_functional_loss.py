"""Losses: gradients, PyTorch parity for every reduction / weight / ignore_index / smoothing, stability."""
import warnings

import numpy
import pytest

import minitl
from minitl.core.ops.loss import cross_entropy, nll_loss
from minitl.functional.distance_loss import mse_loss
from minitl.functional.probability_loss import binary_cross_entropy_with_logits
from parity import torch_or_skip

N, C = 6, 4
TARGET = numpy.array([0, 3, -100, 1, 3, 2])  # one ignored sample (PyTorch's default ignore_index)
WEIGHT = numpy.array([0.5, 2.0, 1.0, 1.5])
CE_SETTINGS = {
    "plain": dict(),
    "weight": dict(weight=WEIGHT),
    "smoothing": dict(label_smoothing=0.2),
    "weight_smoothing": dict(weight=WEIGHT, label_smoothing=0.3),
    "ignore_3_weight": dict(weight=WEIGHT, ignore_index=3),
}
REDUCTIONS = ["mean", "sum", "none"]


def _ours(name, dtype, device):
    """The settings of case ``name`` with the class weight as a minitl tensor."""
    settings = dict(CE_SETTINGS[name])
    if "weight" in settings:
        settings["weight"] = minitl.tensor(settings["weight"], dtype=dtype, device=device)
    return settings


def _theirs(name, torch):
    settings = dict(CE_SETTINGS[name])
    if "weight" in settings:
        settings["weight"] = torch.tensor(settings["weight"], dtype=torch.float32)
    return settings


def _target(settings):
    # a target equal to a class-valued ignore_index is fine; -100 is then an out-of-range class
    return numpy.where(TARGET == -100, 0, TARGET) if "ignore_index" in settings else TARGET


def _check_like_torch(pairs):
    for a, b in pairs:
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CE_SETTINGS)
def test_cross_entropy_gradcheck(name, reduction, device, rng):
    settings = _ours(name, "float64", device)
    logits = minitl.tensor(rng.standard_normal((N, C)), requires_grad=True, dtype="float64", device=device)
    target = _target(settings)
    assert minitl.gradcheck(lambda x: cross_entropy(x, target, reduction=reduction, **settings), [logits])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CE_SETTINGS)
def test_cross_entropy_and_nll_match_torch(name, reduction, device, rng):
    torch = torch_or_skip()
    settings, t_settings = _ours(name, "float32", device), _theirs(name, torch)
    target = _target(settings)
    array = (rng.standard_normal((N, C)) * 3).astype(numpy.float32)
    logits = minitl.tensor(array, requires_grad=True, device=device)
    t_logits = torch.tensor(array, requires_grad=True)
    loss = cross_entropy(logits, target, reduction=reduction, **settings)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(target), reduction=reduction, **t_settings)
    grad = rng.standard_normal(loss.shape).astype(numpy.float32)
    loss.backward(minitl.tensor(grad, device=device))
    t_loss.backward(torch.tensor(grad))
    assert loss.dtype == numpy.float32
    _check_like_torch([(loss, t_loss), (logits.grad, t_logits.grad)])
    if "label_smoothing" not in settings:  # nll_loss has no smoothing
        log_probs = minitl.tensor(t_logits.detach().log_softmax(1).numpy(), requires_grad=True, device=device)
        t_log_probs = t_logits.detach().log_softmax(1).requires_grad_()
        loss = nll_loss(log_probs, target, reduction=reduction, **settings)
        t_loss = torch.nn.functional.nll_loss(t_log_probs, torch.tensor(target), reduction=reduction, **t_settings)
        loss.backward(minitl.tensor(grad, device=device))
        t_loss.backward(torch.tensor(grad))
        _check_like_torch([(loss, t_loss), (log_probs.grad, t_log_probs.grad)])


def test_nll_loss_gradcheck(device, rng):
    log_probs = minitl.tensor(rng.standard_normal((N, C)), requires_grad=True, dtype="float64", device=device)
    weight = minitl.tensor(WEIGHT, dtype="float64", device=device)
    assert minitl.gradcheck(lambda x: nll_loss(x, TARGET, weight=weight), [log_probs])


def test_cross_entropy_on_huge_logits_is_finite_and_matches_torch(device, rng):
    torch = torch_or_skip()
    array = (rng.standard_normal((N, C)) * 1e4).astype(numpy.float32)
    logits = minitl.tensor(array, requires_grad=True, device=device)
    loss = cross_entropy(logits, TARGET, label_smoothing=0.1)
    loss.backward()
    t_logits = torch.tensor(array, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(TARGET), label_smoothing=0.1)
    t_loss.backward()
    assert numpy.isfinite(loss.item()) and numpy.isfinite(logits.grad.numpy()).all()
    _check_like_torch([(loss, t_loss), (logits.grad, t_logits.grad)])


def test_cross_entropy_spatial_and_probability_targets_match_torch(device, rng):
    torch = torch_or_skip()
    spatial = rng.standard_normal((2, C, 3, 3)).astype(numpy.float32)  # segmentation-style (N, C, H, W)
    spatial_target = rng.integers(0, C, (2, 3, 3))
    for reduction in REDUCTIONS:
        ours = cross_entropy(minitl.tensor(spatial, device=device), spatial_target, reduction=reduction)
        theirs = torch.nn.functional.cross_entropy(torch.tensor(spatial), torch.tensor(spatial_target),
                                                   reduction=reduction)
        _check_like_torch([(ours, theirs)])
    logits = (rng.standard_normal((N, C))).astype(numpy.float32)
    probabilities = rng.dirichlet(numpy.ones(C), N).astype(numpy.float32)
    ours = cross_entropy(minitl.tensor(logits, device=device), probabilities, weight=minitl.tensor(WEIGHT),
                         label_smoothing=0.1)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(probabilities), label_smoothing=0.1,
                                               weight=torch.tensor(WEIGHT, dtype=torch.float32))
    _check_like_torch([(ours, theirs)])


def test_cross_entropy_target_errors():
    logits = minitl.tensor(numpy.zeros((3, C)))
    with pytest.raises(IndexError, match="out of range"):
        cross_entropy(logits, numpy.array([0, C, 1]))
    with pytest.raises(ValueError, match="target shape"):
        cross_entropy(logits, numpy.array([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(logits, numpy.array([0, 1, 2]), reduction="average")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_gradcheck_and_torch(reduction, device, rng):
    x = minitl.tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype="float64", device=device)
    t = minitl.tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype="float64", device=device)
    assert minitl.gradcheck(lambda x, t: mse_loss(x, t, reduction=reduction), [x, t])
    torch = torch_or_skip()
    arrays = [rng.standard_normal((3, 4)).astype(numpy.float32) for _ in range(2)]
    ours = [minitl.tensor(a, requires_grad=True, device=device) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss, t_loss = mse_loss(*ours, reduction=reduction), torch.nn.functional.mse_loss(*theirs, reduction=reduction)
    loss.sum().backward()
    t_loss.sum().backward()
    _check_like_torch([(loss, t_loss)] + [(o.grad, t.grad) for o, t in zip(ours, theirs)])


BCE_SETTINGS = {"plain": (False, False), "weight": (True, False), "pos_weight": (False, True), "both": (True, True)}


def _bce_arrays(rng):
    logits = rng.standard_normal((5, 3)) * 4
    target = rng.uniform(0, 1, (5, 3))
    weight = rng.uniform(0.5, 2, (5, 1))  # broadcast over the columns
    pos_weight = rng.uniform(0.5, 3, 3)   # one per class (last axis)
    return logits, target, weight, pos_weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", BCE_SETTINGS)
def test_bce_with_logits_gradcheck(name, reduction, device, rng):
    use_weight, use_pos_weight = BCE_SETTINGS[name]
    logits, target, weight, pos_weight = (minitl.tensor(a, dtype="float64", device=device) for a in _bce_arrays(rng))
    logits.requires_grad_(), target.requires_grad_()
    extras = dict(weight=weight if use_weight else None, pos_weight=pos_weight if use_pos_weight else None)
    assert minitl.gradcheck(lambda x, t: binary_cross_entropy_with_logits(x, t, reduction=reduction, **extras),
                            [logits, target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", BCE_SETTINGS)
def test_bce_with_logits_matches_torch(name, reduction, device, rng):
    torch = torch_or_skip()
    use_weight, use_pos_weight = BCE_SETTINGS[name]
    arrays = [a.astype(numpy.float32) for a in _bce_arrays(rng)]
    ours = [minitl.tensor(a, requires_grad=i < 2, device=device) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i < 2) for i, a in enumerate(arrays)]

    def extras(tensors):
        return dict(weight=tensors[2] if use_weight else None, pos_weight=tensors[3] if use_pos_weight else None)

    loss = binary_cross_entropy_with_logits(ours[0], ours[1], reduction=reduction, **extras(ours))
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(theirs[0], theirs[1], reduction=reduction,
                                                                  **extras(theirs))
    loss.sum().backward()
    t_loss.sum().backward()
    _check_like_torch([(loss, t_loss), (ours[0].grad, theirs[0].grad), (ours[1].grad, theirs[1].grad)])


def test_bce_with_logits_is_stable_on_huge_logits(device):
    logits = minitl.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True, device=device)
    loss = binary_cross_entropy_with_logits(logits, minitl.tensor([1.0, 0.0, 0.0, 1.0], device=device),
                                            reduction="none")
    loss.sum().backward()
    numpy.testing.assert_allclose(loss.numpy(), [0, 0, 1e4, 1e4])
    numpy.testing.assert_allclose(logits.grad.numpy(), [0, 0, 1, -1])


def test_mse_loss_warns_when_shapes_differ_like_torch():
    out, target = minitl.tensor(numpy.arange(4.0).reshape(4, 1)), minitl.tensor(numpy.arange(4.0))
    with pytest.warns(UserWarning, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        loss = mse_loss(out, target)
    assert loss.item() == pytest.approx(2.5)  # broadcast to (4, 4), as PyTorch: the warning says why it is wrong
    import warnings  # noqa: PLC0415
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mse_loss(out, target.reshape(4, 1))  # equal shapes: silent


def test_bce_with_logits_refuses_different_shapes_naming_both():
    out, target = minitl.tensor(numpy.zeros((4, 1))), minitl.tensor(numpy.zeros(4))
    with pytest.raises(ValueError, match=r"target shape \(4,\) must equal input shape \(4, 1\)"):
        binary_cross_entropy_with_logits(out, target)


# ----- issue 13 regression: a probability target that requires grad gets its gradient -----

@pytest.mark.parametrize("settings", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                      dict(label_smoothing=0.1, weight=WEIGHT)],
                         ids=["mean", "sum", "none", "smooth_w"])
def test_cross_entropy_probability_target_gradient_matches_torch(settings, rng, device):
    torch = torch_or_skip()
    logits = rng.standard_normal((N, C)).astype(numpy.float32)
    probs = rng.dirichlet(numpy.ones(C), N).astype(numpy.float32)
    z = minitl.tensor(logits, requires_grad=True, device=device)
    p = minitl.tensor(probs, requires_grad=True, device=device)
    tz, tp = torch.tensor(logits, requires_grad=True), torch.tensor(probs, requires_grad=True)
    ours = {k: minitl.tensor(v, device=device) if k == "weight" else v for k, v in settings.items()}
    theirs = {k: torch.tensor(v, dtype=torch.float32) if k == "weight" else v for k, v in settings.items()}
    out, expected = cross_entropy(z, p, **ours), torch.nn.functional.cross_entropy(tz, tp, **theirs)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    assert p.grad is not None
    numpy.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_cross_entropy_probability_target_gradcheck(rng, device):
    logits = minitl.tensor(rng.standard_normal((3, 4, 2)), dtype="float64", requires_grad=True, device=device)
    probs = minitl.tensor(rng.dirichlet(numpy.ones(4), (3, 2)).transpose(0, 2, 1), dtype="float64",
                          requires_grad=True, device=device)
    assert minitl.gradcheck(lambda z, p: cross_entropy(z, p), [logits, probs])


def test_cross_entropy_on_softmax_outputs_warns_once_naming_the_fix(monkeypatch, rng):
    from minitl.guards import loss_input
    monkeypatch.setitem(loss_input._warned, "probabilities", False)
    logits = minitl.tensor(rng.standard_normal((8, 5)).astype(numpy.float32))
    target = minitl.tensor(rng.integers(0, 5, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cross_entropy(logits, target)  # logits: silent
        cross_entropy(minitl.tensor(numpy.full((8, 5), 0.5, numpy.float32)), target)  # in [0, 1], sums to 2.5
    with pytest.warns(UserWarning, match=r"cross_entropy\(\) got rows that are probabilities.*"
                                         r"applies log_softmax itself.*pass the logits"):
        cross_entropy(minitl.softmax(logits, dim=1), target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cross_entropy(minitl.softmax(logits, dim=1), target)  # once

    monkeypatch.setitem(loss_input._warned, "probabilities", False)
    trained = minitl.tensor(rng.standard_normal((8, 5)).astype(numpy.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="got rows that are probabilities"):  # the training case: softmax recorded
        cross_entropy(minitl.softmax(trained, dim=1), target).backward()
