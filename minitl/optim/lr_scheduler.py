"""Learning-rate schedules: how ``group["lr"]`` changes with the step count.

Every scheduler remembers each group's starting rate in ``group["initial_lr"]`` (as PyTorch's do)
and, at every ``scheduler.step()``, writes ``group["lr"] = initial_lr × schedule factor``. The optimizer then multiplies
by each parameter's ``lr_scale`` at its own step,
so a schedule and discriminative learning rates compose without knowing about each other.

Each schedule here is a **closed form** ``lr_at(t)`` of the step count ``t = last_epoch`` (0 right
after construction), which is what makes composition simple: ``SequentialLR`` runs schedule ``i``
on ``t - milestone_i``; ``LinearWarmup(opt, 100, after=CosineAnnealingLR(opt, T_max=900))`` is the
common "warm up, then decay" built that way. Usage, per batch or per epoch as you choose::

    scheduler = StepLR(optimizer, step_size=10, gamma=0.1)
    for epoch in range(30):
        train_one_epoch(...)          # calls optimizer.step()
        scheduler.step()

Values match ``torch.optim.lr_scheduler`` (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR
within its first half period, LinearLR, OneCycleLR, SequentialLR) **for one scheduler per
optimizer that alone sets the rate**. PyTorch's schedulers are chainable: each multiplies the
current ``group["lr"]``, so two of them on one optimizer compound and a rate set by hand carries
on. Closed forms cannot do that, so rather than differ silently ``step()`` raises
``ScheduleConflictError`` when a group's ``lr`` is not the value this scheduler wrote last (a second
scheduler stepped on the same optimizer, or ``group["lr"] = ...``). Compose schedules with
``SequentialLR`` / ``LinearWarmup``, or multiply factors in one ``LambdaLR``.
As in PyTorch, a scheduler's first ``step()`` warns when its optimizer has taken no ``step()`` yet
(the schedule's first rate would never be used; ``Optimizer.steps_taken`` counts them).
``SlantedTriangularLR`` is ULMFiT's schedule (Howard & Ruder 2018), which PyTorch does not have.
"""
import bisect
import math
import warnings


class ScheduleConflictError(RuntimeError):
    """Something other than this scheduler changed ``group["lr"]``: a closed-form schedule would overwrite it."""


class LRScheduler:
    """Base class: subclasses define ``_lr(base_lr, t)``, the rate of one group at step ``t``."""

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param group {i} has no 'initial_lr': resuming a schedule (last_epoch != -1) "
                               "needs the optimizer state saved while the schedule ran")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._advance()

    def _lr(self, base_lr, t):
        raise NotImplementedError(f"{type(self).__name__} must define _lr(base_lr, t)")

    def lr_at(self, t):
        """The list of group rates at step ``t`` (pure: changes nothing)."""
        return [self._lr(base, t) for base in self.base_lrs]

    def step(self):
        """Advance one step and write the new rates into the optimizer's groups.

        Raises ``ScheduleConflictError`` if a group's rate is not what this scheduler wrote last.
        """
        if not self.__dict__.get("_order_checked"):  # PyTorch's check: the first rate would be skipped
            self._order_checked = True
            if getattr(self.optimizer, "steps_taken", 1) == 0:
                warnings.warn(f"Detected call of `lr_scheduler.step()` before `optimizer.step()`: "
                              f"{type(self).__name__} moved the learning rate on before any update, so the first "
                              f"value of the schedule ({self.base_lrs[0]:g} for group 0) was never used. Call "
                              "optimizer.step() first, then scheduler.step()", UserWarning, stacklevel=2)
        for i, (group, lr) in enumerate(zip(self.optimizer.param_groups, self._last_lr)):
            if group["lr"] != lr:
                raise ScheduleConflictError(
                    f"{type(self).__name__}.step(): param group {i} has lr {group['lr']}, but this scheduler set "
                    f"{lr}: another scheduler on the same optimizer, or your code, changed it. minitl's schedules "
                    "are closed forms (lr = initial_lr × factor(step)) and do not chain like PyTorch's: use one "
                    "scheduler per optimizer and compose with SequentialLR / LinearWarmup or one LambdaLR")
        self._advance()

    def _advance(self):
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self):
        """The rates set by the last ``step()``, one per group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer (and inner schedulers, saved by ``SequentialLR``)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not isinstance(v, LRScheduler)
                and k != "schedulers"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(t): any factor you can write as a function of the step."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.lr_lambda(t)

    def state_dict(self):
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambda"}


class StepLR(LRScheduler):
    """Divide the rate by 1/gamma every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)        # lr = lr0 * gamma^floor(t / step_size)


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone (e.g. epochs 30 and 80)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(int(m) for m in milestones), gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        passed = bisect.bisect_right(self.milestones, t)
        return base_lr * self.gamma ** passed                       # lr = lr0 * gamma^(milestones <= t)


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every step."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.gamma ** t                            # lr = lr0 * gamma^t


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the initial rate down to ``eta_min`` over ``T_max`` steps (then back up)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803 - PyTorch's name
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        # lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * t / T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Move the factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    ``total_iters=0`` starts at ``end_factor``: a ramp of no steps is no ramp (PyTorch's divides by
    zero there and stays at ``start_factor``).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                             f"got {start_factor} and {end_factor}")
        if int(total_iters) < 0:
            raise ValueError(f"LinearLR: total_iters must be >= 0, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        progress = min(t, self.total_iters) / self.total_iters if self.total_iters else 1.0
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` counted from 0, and so on.

    The inner schedulers must be built on the same optimizer; only this one's ``step()`` is called.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), [int(m) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, "
                             f"got {len(milestones)}")
        for s in schedulers:
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: {type(s).__name__} was built on another optimizer")
        self.schedulers, self.milestones = schedulers, milestones
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        phase = bisect.bisect_right(self.milestones, t)
        start = self.milestones[phase - 1] if phase > 0 else 0
        return self.schedulers[phase].lr_at(t - start)

    def _advance(self):
        super()._advance()
        # Keep the inner schedulers' counters honest, so their get_last_lr() tells the truth.
        phase = bisect.bisect_right(self.milestones, self.last_epoch)
        inner = self.schedulers[phase]
        inner.last_epoch = self.last_epoch - (self.milestones[phase - 1] if phase > 0 else 0)
        inner._last_lr = list(self._last_lr)

    def state_dict(self):
        state = super().state_dict()
        state["schedulers"] = [s.state_dict() for s in self.schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        for scheduler, inner in zip(self.schedulers, state_dict.pop("schedulers")):
            scheduler.load_state_dict(inner)
        super().load_state_dict(state_dict)


class LinearWarmup(SequentialLR):
    """Warm up linearly from ``start_factor × lr`` to ``lr`` over ``warmup_steps``, then run ``after``.

    ``after`` (any scheduler on the same optimizer, or None for a constant rate) starts counting
    from 0 when the warm-up ends: ``LinearWarmup(opt, 5, after=CosineAnnealingLR(opt, T_max=95))``.
    ``warmup_steps=0`` means no warm-up: ``after`` runs from the first step.
    Why warm up: Adam's first moments and a fresh head's gradients are noisy; small first steps keep
    them from wrecking pretrained weights.
    """

    def __init__(self, optimizer, warmup_steps, start_factor=0.1, after=None, last_epoch=-1):
        self.warmup_steps = int(warmup_steps)
        warmup = LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=self.warmup_steps)
        after = after if after is not None else LambdaLR(optimizer, lambda t: 1.0)
        super().__init__(optimizer, [warmup, after], [self.warmup_steps], last_epoch)


class OneCycleLR(LRScheduler):
    """Smith's 1cycle: rise from ``max_lr/div_factor`` to ``max_lr``, then anneal far below the start.

    PyTorch's formula: phase 1 spans steps 0 .. ``pct_start*total_steps - 1`` (initial -> max_lr),
    phase 2 runs to ``total_steps - 1`` (max_lr -> initial/final_div_factor); ``three_phase`` adds a
    symmetric descent back to the initial rate before the final anneal. ``max_lr`` may be one number
    or one per group; it replaces each group's ``initial_lr``. Call ``step()`` once per batch,
    ``total_steps`` times at most. Left out: PyTorch's momentum cycling (``cycle_momentum``) —
    this scheduler only touches ``lr``, as ``torch.optim.lr_scheduler.OneCycleLR(cycle_momentum=False)``.
    """

    def __init__(self, optimizer, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(f"OneCycleLR: {len(max_lrs)} max_lr values for {len(groups)} param groups")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not 0 < pct_start < 1:
            raise ValueError(f"OneCycleLR: pct_start must be in (0, 1), got {pct_start}")
        self.total_steps, self.anneal_strategy = int(total_steps), anneal_strategy
        if last_epoch == -1:
            for group, peak in zip(groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        end1 = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [(end1, "initial_lr", "max_lr"),
                           (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr"),
                           (self.total_steps - 1.0, "initial_lr", "min_lr")]
        else:
            self.phases = [(end1, "initial_lr", "max_lr"), (self.total_steps - 1.0, "max_lr", "min_lr")]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)  # cosine from start to end
        return (end - start) * pct + start                                    # straight line

    def lr_at(self, t):
        # t == total_steps is allowed: the step() after the last batch of a total_steps-batch run.
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: step {t} is past total_steps={self.total_steps}; "
                             "build the scheduler with the real number of batches × epochs")
        rates = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, start_key, end_key) in enumerate(self.phases):
                if t <= end_step or i == len(self.phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    rates.append(self._anneal(group[start_key], group[end_key], pct))
                    break
                start_step = end_step
        return rates


class SlantedTriangularLR(LRScheduler):
    """ULMFiT's slanted triangular rate (Howard & Ruder 2018): a short steep rise, a long linear decay.

    With ``T = total_steps`` and ``cut = floor(T * cut_frac)``::

        p  = t / cut                                      if t < cut
        p  = 1 - (t - cut) / (cut * (1 / cut_frac - 1))   otherwise
        lr = lr_max * (1 + p * (ratio - 1)) / ratio

    ``lr_max`` is each group's initial rate; the lowest rate is ``lr_max / ratio``. Steps past ``T``
    stay at that lowest rate.
    """

    def __init__(self, optimizer, total_steps, cut_frac=0.1, ratio=32.0, last_epoch=-1):
        self.total_steps, self.cut_frac, self.ratio = int(total_steps), cut_frac, ratio
        self.cut = math.floor(self.total_steps * cut_frac)
        if self.cut < 1:
            raise ValueError(f"SlantedTriangularLR: total_steps * cut_frac = {self.total_steps * cut_frac} "
                             "must be at least 1 (more steps, or a larger cut_frac)")
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        if t < self.cut:
            p = t / self.cut
        else:
            p = max(0.0, 1 - (t - self.cut) / (self.cut * (1 / self.cut_frac - 1)))
        return base_lr * (1 + p * (self.ratio - 1)) / self.ratio
