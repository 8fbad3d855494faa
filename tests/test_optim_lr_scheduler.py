"""Schedules: the lr at every step equals torch.optim.lr_scheduler's, plus ULMFiT's slanted triangle."""
import math
import warnings

import numpy
import pytest

from minitl import nn, optim
from minitl.core.tensor import Tensor
from minitl.optim import lr_scheduler as sched
from parity import torch_or_skip

STEPS = 30
# These tests read a schedule's values by stepping it alone, no training between: the warning for a
# scheduler stepped before its optimizer is expected there, and has its own test at the end.
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")


def two_group_optimizers(torch, lrs=(0.1, 0.02)):
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    ours = optim.SGD([{"params": model[0].parameters(), "lr": lrs[0]},
                      {"params": model[1].parameters(), "lr": lrs[1]}], lr=lrs[0], momentum=0.9)
    tparams = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))]
    theirs = torch.optim.SGD([{"params": [tparams[0]], "lr": lrs[0]},
                              {"params": [tparams[1]], "lr": lrs[1]}], lr=lrs[0], momentum=0.9)
    return ours, theirs


def run_both(ours_scheduler, theirs_scheduler, ours, theirs, steps=STEPS):
    ours_lrs, theirs_lrs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "scheduler.step() before optimizer.step()" notice
        for _ in range(steps):
            ours_lrs.append([g["lr"] for g in ours.param_groups])
            theirs_lrs.append([g["lr"] for g in theirs.param_groups])
            assert ours_scheduler.get_last_lr() == pytest.approx(ours_lrs[-1])
            theirs.step()
            ours_scheduler.step()
            theirs_scheduler.step()
    numpy.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=1e-9, atol=1e-15)
    return ours_lrs


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 22], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=STEPS, eta_min=1e-4)),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=12)),
])
def test_schedule_values_match_torch(name, kwargs):
    torch = torch_or_skip()
    ours, theirs = two_group_optimizers(torch)
    run_both(getattr(sched, name)(ours, **kwargs), getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs),
             ours, theirs)


@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=STEPS),
    dict(max_lr=[0.5, 0.05], total_steps=STEPS, pct_start=0.25, div_factor=10, final_div_factor=100),
    dict(max_lr=0.5, total_steps=STEPS, anneal_strategy="linear", three_phase=True),
])
def test_one_cycle_matches_torch_without_momentum_cycling(kwargs):
    torch = torch_or_skip()
    ours, theirs = two_group_optimizers(torch)
    run_both(sched.OneCycleLR(ours, **kwargs), torch.optim.lr_scheduler.OneCycleLR(theirs, cycle_momentum=False,
                                                                                      **kwargs), ours, theirs)


def test_linear_warmup_then_cosine_matches_torch_sequential():
    torch = torch_or_skip()
    ours, theirs = two_group_optimizers(torch)
    ours_s = sched.LinearWarmup(ours, 5, start_factor=0.1, after=sched.CosineAnnealingLR(ours, T_max=STEPS - 5))
    theirs_s = torch.optim.lr_scheduler.SequentialLR(
        theirs, [torch.optim.lr_scheduler.LinearLR(theirs, start_factor=0.1, end_factor=1.0, total_iters=5),
                 torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=STEPS - 5)], milestones=[5])
    lrs = run_both(ours_s, theirs_s, ours, theirs)
    assert lrs[0][0] == pytest.approx(0.01) and lrs[5][0] == pytest.approx(0.1)


def test_slanted_triangular_follows_the_ulmfit_formula():
    ours, _ = two_group_optimizers(torch=pytest.importorskip("torch"))
    total, cut_frac, ratio = 100, 0.1, 32
    s = sched.SlantedTriangularLR(ours, total_steps=total, cut_frac=cut_frac, ratio=ratio)
    cut = math.floor(total * cut_frac)
    seen = []
    for t in range(total + 3):
        p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
        expected = 0.1 * (1 + max(p, 0.0) * (ratio - 1)) / ratio
        assert ours.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12), t
        seen.append(ours.param_groups[0]["lr"])
        s.step()
    assert seen[0] == pytest.approx(0.1 / 32) and max(seen) == pytest.approx(0.1) and seen.index(max(seen)) == cut
    assert ours.param_groups[1]["lr"] == pytest.approx(0.02 / 32)  # each group peaks at its own lr
    with pytest.raises(ValueError, match="at least 1"):
        sched.SlantedTriangularLR(ours, total_steps=5, cut_frac=0.1)


def test_schedule_times_lr_scale_is_the_effective_lr():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[0].lr_scale = 0.1
    opt = optim.SGD(model, lr=1.0)
    scheduler = sched.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        for p in model.parameters():
            p.grad = Tensor(numpy.ones(p.shape))
        opt.step()
        scheduler.step()
    report = opt.last_step_report()  # the second step ran at lr 0.5
    assert report["0.weight"]["lr"] == pytest.approx(0.05) and report["1.weight"]["lr"] == pytest.approx(0.5)


def test_scheduler_state_dict_resumes():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model, lr=0.1)
    s = sched.LinearWarmup(opt, 3, after=sched.ExponentialLR(opt, gamma=0.9))
    for _ in range(5):
        s.step()
    saved_sched, saved_opt = s.state_dict(), opt.state_dict()
    expected = [s.step() or opt.param_groups[0]["lr"] for _ in range(4)]

    opt2 = optim.SGD(nn.Linear(2, 2), lr=0.1)
    s2 = sched.LinearWarmup(opt2, 3, after=sched.ExponentialLR(opt2, gamma=0.9))
    opt2.load_state_dict(saved_opt)
    s2.load_state_dict(saved_sched)
    assert s2.last_epoch == 5 and s2.schedulers[1].last_epoch == 2
    assert [s2.step() or opt2.param_groups[0]["lr"] for _ in range(4)] == pytest.approx(expected, rel=1e-12)


def test_one_cycle_refuses_to_run_past_total_steps():
    opt = optim.SGD(nn.Linear(2, 2), lr=0.1)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):  # one step() per batch, as in a training loop
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        s.step()


def test_a_second_scheduler_on_the_same_optimizer_is_refused_not_silently_different():
    torch = torch_or_skip()
    ours, theirs = two_group_optimizers(torch)
    for module, optimizer in ((sched, ours), (torch.optim.lr_scheduler, theirs)):
        optimizer.schedulers = [module.ExponentialLR(optimizer, gamma=0.9), module.StepLR(optimizer, 3, gamma=0.1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in theirs.schedulers:
            s.step()
    assert theirs.param_groups[0]["lr"] == pytest.approx(0.09)   # PyTorch chains: 0.1 × 0.9 × 1
    ours.schedulers[0].step()
    with pytest.raises(sched.ScheduleConflictError, match="StepLR.step.*param group 0 has lr 0.09.*set 0.1"):
        ours.schedulers[1].step()


def test_a_rate_set_by_hand_is_refused_instead_of_overwritten():
    opt = optim.SGD(nn.Linear(2, 2), lr=0.1)
    s = sched.StepLR(opt, step_size=5)
    opt.param_groups[0]["lr"] = 0.01
    with pytest.raises(sched.ScheduleConflictError, match="your code"):
        s.step()


def test_zero_warmup_steps_is_no_warmup():
    torch = torch_or_skip()
    ours, theirs = two_group_optimizers(torch)
    run_both(sched.LinearWarmup(ours, 0, after=sched.ExponentialLR(ours, gamma=0.9)),
             torch.optim.lr_scheduler.ExponentialLR(theirs, gamma=0.9), ours, theirs)
    opt = optim.SGD(nn.Linear(2, 2), lr=0.1)
    assert sched.LinearLR(opt, start_factor=0.5, total_iters=0).get_last_lr() == [0.1]


def test_a_scheduler_stepped_before_the_optimizer_warns_once_as_pytorch_does():
    model = nn.Linear(2, 1)
    optimizer = optim.SGD(model, lr=0.1)
    scheduler = sched.StepLR(optimizer, step_size=1, gamma=0.5)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)`.*StepLR.*0.1"):
        scheduler.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()  # once per scheduler

    optimizer = optim.SGD(model, lr=0.1)  # the right order is silent
    scheduler = sched.StepLR(optimizer, step_size=1, gamma=0.5)
    model(Tensor(numpy.ones((1, 2), numpy.float32))).sum().backward()
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.05
