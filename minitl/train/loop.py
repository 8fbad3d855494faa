"""``fit`` and ``evaluate``: the training loop, written out so a student can read every step.

One optimizer step is always the same five lines (the spine's ``core/fit.py``; ``TrainingLoop.train_step``
adds the scheduler)::

    optimizer.zero_grad()            forget the previous batch's gradients
    loss = loss_fn(model(x), y)      forward: records the graph (only where something is trainable)
    loss.backward()                  gradients for every parameter that requires grad
    optimizer.step()                 update, reading lr, frozen and lr_scale right now
    scheduler.step()                 (per step only with scheduler_interval="step")

With ``regularizer=`` (a callable ``regularizer(model) -> scalar Tensor``) the loss that backward
runs on is ``loss_fn(...) + regularizer(model)``: the hook L2-SP (``minitl.transfer``) uses to pull
the weights toward the pretrained ones. The step record keeps both (``loss`` the sum, ``penalty``).

Around it the loop keeps the score: per-step and per-epoch metrics in a ``History``, a progress
bar, callbacks at fixed moments (callbacks.py), a check that the loss is finite (a NaN loss stops
the run with ``TrainingDivergedError`` before it can spoil the weights), and a bookmark of the data
order so that a checkpoint can resume the run exactly (checkpoint.py).

On the GPU, reading a number on the host (``float(loss)``) waits for every queued kernel: the loop
reads the loss and the correct-count of a step together in ONE device->host copy, and with
``fit(log_every=k)`` only every k steps (the k steps' values in one copy, still all recorded). The
finite check then runs at those reads: with k > 1 a NaN is seen up to k - 1 steps late.

``evaluate`` measures loss and accuracy in eval mode (dropout off, BatchNorm running statistics)
under ``no_grad`` (no graph, no saved activations), then puts every module's mode back as it was.
"""
import math
import time

from ..core.backend import get_array_module
from ..core.fit import train_step
from ..core.ops.loss import cross_entropy
from ..core.tensor import Tensor, no_grad
from ..guards.device_checks import read_to_host
from ..progress import make_bar, progress_mode
from .checkpoint import Checkpoint, resume
from .errors import TrainingDivergedError
from .history import History
from .mid_epoch import bookmark, skip_done_batches, start_of_epoch
from .optimizer_check import check_optimizer_holds_model

ON_NAN = ("raise", "skip")
INTERVALS = ("epoch", "step")


def count_correct(outputs, targets):
    """Correct class predictions in a batch, or None when the task is not classification.

    outputs (N, C) scores, targets (N,) integer class indices. The count is a 0-d array on the
    outputs' device: reading it (``int(...)``) is the host's business, batched with the loss.
    """
    scores = outputs.data if isinstance(outputs, Tensor) else outputs
    labels = targets.data if isinstance(targets, Tensor) else targets
    if scores.ndim != 2 or labels.ndim != 1 or labels.dtype.kind not in "iu":
        return None
    return (scores.argmax(axis=1) == labels).sum()


def read_values(rows):
    """``[(loss 0-d array, other 0-d arrays or None, ...), ...]`` -> host floats, in one device->host copy.

    Each row comes back as a tuple of the same length, ``None`` where the row had ``None``.
    """
    if not rows:
        return []
    xp = get_array_module(rows[0][0])
    flat = xp.stack([xp.asarray(v, dtype="float64").reshape(()) for row in rows for v in row if v is not None])
    host = iter(read_to_host(flat).tolist())  # also raises a failed device-side check (device_checks.py)
    return [tuple(None if v is None else next(host) for v in row) for row in rows]


def batch_size(targets) -> int:
    return int(targets.shape[0]) if getattr(targets, "ndim", 0) else 1


class RunningMeans:
    """Sums for an epoch's mean loss and accuracy (weighted by batch size, so a small last batch counts less)."""

    def __init__(self, loss_sum=0.0, correct=0, samples=0, seconds=0.0, skipped=0, classified=0):
        self.loss_sum, self.correct, self.samples = loss_sum, correct, samples
        self.seconds, self.skipped, self.classified = seconds, skipped, classified

    def add(self, loss, correct, n):
        self.loss_sum += loss * n
        self.samples += n
        if correct is not None:
            self.correct += correct
            self.classified += n

    @property
    def loss(self):
        return self.loss_sum / self.samples if self.samples else None

    @property
    def accuracy(self):
        return self.correct / self.classified if self.classified else None

    def to_dict(self):
        return dict(vars(self))


def evaluate(model, loader, loss_fn=cross_entropy):
    """``{"loss": mean loss, "accuracy": fraction correct (None if not classification), "samples": n}``.

    The model runs in eval mode under ``no_grad``; afterwards each module's train/eval mode is
    restored exactly (a model that was in eval mode stays in eval mode).
    """
    means, pending = RunningMeans(), []
    with model.mode(training=False), no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            pending.append((loss_fn(outputs, targets).data, count_correct(outputs, targets), batch_size(targets)))
            if len(pending) >= EVALUATE_READ_EVERY:
                _add_read(means, pending)
        _add_read(means, pending)  # on the GPU: one host read for the whole pass (or per 256 batches)
    if not means.samples:
        raise ValueError(f"evaluate: the loader {type(loader).__name__} yielded no batches")
    return {"loss": means.loss, "accuracy": means.accuracy, "samples": means.samples}


EVALUATE_READ_EVERY = 256  # batches whose (loss, correct) evaluate() reads in one copy


def _add_read(means, pending):
    for (loss, correct), (_, _, n) in zip(read_values([(loss, correct) for loss, correct, _ in pending]), pending):
        means.add(loss, None if correct is None else int(correct), n)
    pending.clear()


class TrainingLoop:
    """The state of one ``fit`` call; callbacks receive it as ``loop``.

    Read: ``model``, ``optimizer``, ``scheduler``, ``train_loader``, ``val_loader``, ``history``,
    ``epoch`` (1-based, current), ``epochs`` / ``steps`` (the targets), ``step`` (optimizer steps
    so far, across resumes), ``step_in_epoch``, ``last_loss``, ``last_finite_loss`` (as of the last
    read: every ``log_every`` steps; ``read_losses()`` reads the pending ones now).
    Write: ``stop_training = True`` ends the run after the current step.
    """

    def __init__(self, model, optimizer, train_loader, epochs=None, steps=None, loss_fn=cross_entropy,
                 val_loader=None, scheduler=None, callbacks=(), scheduler_interval="epoch", on_nan="raise",
                 verbose=None, stream=None, regularizer=None, log_every=1):
        if epochs is None and steps is None:
            raise ValueError("fit() needs epochs= or steps= (or both: it stops at whichever comes first)")
        for name, value in (("epochs", epochs), ("steps", steps)):
            if value is not None and not (type(value) is int and value >= 1):
                raise ValueError(f"fit(): {name} must be a positive integer or None, got {value!r}")
        if on_nan not in ON_NAN:
            raise ValueError(f"on_nan must be one of {ON_NAN}, got {on_nan!r}")
        if scheduler_interval not in INTERVALS:
            raise ValueError(f"scheduler_interval must be one of {INTERVALS}, got {scheduler_interval!r}")
        check_optimizer_holds_model(model, optimizer)
        if not isinstance(log_every, int) or log_every < 1:
            raise ValueError(f"log_every must be a positive integer of steps, got {log_every!r}")
        if on_nan == "skip" and log_every != 1:
            raise ValueError("on_nan='skip' needs the loss on the host before every update: use log_every=1")
        self.model, self.optimizer, self.train_loader, self.val_loader = model, optimizer, train_loader, val_loader
        self.epochs, self.steps, self.loss_fn, self.scheduler = epochs, steps, loss_fn, scheduler
        self.callbacks = sorted(callbacks, key=lambda callback: callback.runs_last)  # stable: order kept otherwise
        self.scheduler_interval, self.on_nan = scheduler_interval, on_nan
        self.stream, self.mode = stream, progress_mode(verbose, stream)
        self.history = History()
        self.epoch, self.step, self.step_in_epoch = 0, 0, 0
        self.last_loss = self.last_finite_loss = None
        self.stop_training = False
        self.regularizer = regularizer
        self.log_every = log_every
        self._unread = []  # (step record, loss 0-d array, correct 0-d array or None, batch size, means)

    # ----- helpers -----
    def _call(self, hook):
        for callback in self.callbacks:
            getattr(callback, hook)(self)

    def lr(self):
        """Learning rate of parameter group 0 right now (the schedule included, not lr_scale)."""
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    def trainable_blocks(self):
        return [i for i, block in enumerate(self.model.blocks()) if not block.frozen]

    def _steps_left(self):
        return self.steps is None or self.step < self.steps

    def _description(self):
        total = self.epochs
        if total is None:
            try:
                total = self.epoch - 1 + math.ceil((self.steps - self.step) / len(self.train_loader))
            except (TypeError, ZeroDivisionError):  # a loader without len(), or an empty one
                total = None
        return f"epoch {self.epoch}/{total}" if total else f"epoch {self.epoch}"

    # ----- the run -----
    def run(self, resume_from=None):
        checkpoint = None
        if resume_from is not None:
            checkpoint = resume_from if isinstance(resume_from, Checkpoint) else resume(
                resume_from, self.model, self.optimizer, self.scheduler, self.train_loader)
            self.history, self.step = checkpoint.history, checkpoint.step
            finite = [v for v in self.history.step_losses if math.isfinite(v)]
            self.last_finite_loss = finite[-1] if finite else None
        completed = checkpoint.epoch if checkpoint else 0
        self._call("on_train_begin")
        if checkpoint is not None:
            checkpoint.restore_callbacks(self.callbacks)  # after on_train_begin, where callbacks start fresh
        while not self.stop_training and self._steps_left() and (self.epochs is None or completed < self.epochs):
            self.epoch = completed + 1
            self.run_epoch(checkpoint if checkpoint is not None and checkpoint.skip_batches else None)
            checkpoint = None
            if self.history.epochs[-1].get("partial"):
                break
            completed += 1
        self._call("on_train_end")
        return self.history

    def run_epoch(self, checkpoint=None):
        """One pass over the training loader (or the rest of one, after a mid-epoch resume: mid_epoch.py)."""
        start_rng, sums, self.step_in_epoch = start_of_epoch(checkpoint, self.history, self.train_loader)
        means = RunningMeans(**sums)
        self._call("on_epoch_begin")
        self.model.train()
        trainable = self.trainable_blocks()
        total_batches = len(self.train_loader) if hasattr(self.train_loader, "__len__") else None
        bar = make_bar(self.mode, total_batches, self._description(), self.stream)
        started = time.perf_counter() - means.seconds
        batches = iter(self.train_loader)
        if checkpoint is not None:
            skip_done_batches(batches, checkpoint, self.step_in_epoch)
        partial = False
        try:
            for inputs, targets in batches:
                self.train_step(inputs, targets, means)
                bar.update(self.step_in_epoch, {"loss": means.loss, "acc": means.accuracy})
                self._call("on_step_end")
                if self.stop_training or not self._steps_left():
                    partial = total_batches is None or self.step_in_epoch < total_batches
                    break
            self.read_losses()
        except BaseException:
            bar.close()
            raise
        if self.step_in_epoch == 0:
            bar.close()
            raise ValueError(f"fit(): the training loader {type(self.train_loader).__name__} yielded no batches in "
                             f"epoch {self.epoch}; check that the data set is not empty (and that a generator "
                             "is not used up: pass a DataLoader or a list, which can be iterated again)")
        lr = self.lr()
        if self.scheduler is not None and self.scheduler_interval == "epoch" and not partial:
            self.scheduler.step()
        record = {"epoch": self.epoch, "steps": self.step_in_epoch, "train_loss": means.loss,
                  "train_accuracy": means.accuracy, "lr": lr}
        means.seconds = time.perf_counter() - started  # training alone: evaluation can take far longer
        val_seconds = 0.0
        if self.val_loader is not None:
            val_started = time.perf_counter()
            scores = evaluate(self.model, self.val_loader, self.loss_fn)
            val_seconds = time.perf_counter() - val_started
            record["val_loss"], record["val_accuracy"] = scores["loss"], scores["accuracy"]
        seconds = means.seconds + val_seconds
        previous = self.history.epochs[-1]["total_seconds"] if self.history.epochs else 0.0
        record.update(seconds=seconds, train_seconds=means.seconds, val_seconds=val_seconds,
                      total_seconds=previous + seconds, trainable_blocks=trainable, skipped_steps=means.skipped)
        if partial:
            record["partial"] = True
        self.history.resume_point = bookmark(self.epoch, self.step_in_epoch, start_rng, means, partial,
                                             self.train_loader)
        self.history.epochs.append(record)
        bar.close({"val_loss": record.get("val_loss"), "val_acc": record.get("val_accuracy")})
        self._call("on_epoch_end")

    def train_step(self, inputs, targets, means):
        """The spine's step (``core/fit.py``); between its forward and backward, the step record, the read of
        the loss and the finite check."""
        started = time.perf_counter()
        penalty = []  # the regularizer's value, when there is one

        def loss_fn(outputs, targets):
            loss = self.loss_fn(outputs, targets)
            if self.regularizer is None:
                return loss
            penalty.append(self.regularizer(self.model))
            return loss + penalty[0]

        record = {}

        def before_backward(outputs, loss):
            self.step += 1
            self.step_in_epoch += 1
            record.update(step=self.step, epoch=self.epoch, loss=None, lr=self.lr())
            self.history.steps.append(record)
            self._unread.append((record, loss.data, count_correct(outputs, targets), batch_size(targets), means,
                                 penalty[0].data if penalty else None))
            if len(self._unread) >= self.log_every:
                self.read_losses()  # before backward: with log_every=1 a NaN never reaches the weights
            return not record.get("skipped")

        train_step(self.model, self.optimizer, inputs, targets, loss_fn, before_backward)
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()  # a skipped step still advances the schedule with the step count
        record["seconds"] = time.perf_counter() - started

    def read_losses(self):
        """Read every unread step's loss and correct-count in one device->host copy; check they are finite."""
        unread, self._unread = self._unread, []
        values = read_values([(loss, correct, penalty) for _, loss, correct, _, _, penalty in unread])
        for (record, _, _, n, means, _), (value, correct, penalty) in zip(unread, values):
            correct = None if correct is None else int(correct)
            record["loss"] = self.last_loss = value
            if penalty is not None:
                record["penalty"] = penalty
            if math.isfinite(value):
                means.add(value, correct, n)
                self.last_finite_loss = value
            elif self.on_nan == "raise":
                raise TrainingDivergedError(record["step"], record["epoch"], value, self.last_finite_loss)
            else:  # "skip" (log_every=1): no backward, no update
                means.skipped += 1
                record["skipped"] = True


def fit(model, optimizer, train_loader, epochs=None, steps=None, loss_fn=cross_entropy, val_loader=None,
        scheduler=None, callbacks=(), *, scheduler_interval="epoch", on_nan="raise", verbose=None,
        resume_from=None, stream=None, regularizer=None, log_every=1):
    """Train ``model`` and return its :class:`History`.

    ``train_loader``: any iterable of ``(inputs, targets)`` Tensor pairs (a ``DataLoader``, or a
    list of batches). ``epochs`` / ``steps``: totals to reach (a resumed run continues up to them;
    with both, whichever comes first). ``loss_fn(outputs, targets)`` returns a scalar Tensor.
    ``val_loader``: evaluated after every epoch (``val_loss``, ``val_accuracy``). ``scheduler``:
    stepped after every epoch, or after every step with ``scheduler_interval="step"`` (OneCycle,
    slanted triangular). ``on_nan``: "raise" (``TrainingDivergedError``) or "skip" the step.
    ``verbose``: None shows a bar on a terminal only, True always (one line per epoch in a log),
    False never; it goes to ``stream`` (stderr). ``resume_from``: a checkpoint path (restores model,
    optimizer, scheduler, frozen set, lr_scales, data order) or the ``Checkpoint`` that ``resume``
    returned; either way ``callbacks`` get the state saved for them (matched by class name and
    index, ``checkpoint.callback_keys``; a callback new since the save keeps its own state, a saved
    one that is gone is ignored). An exception (``TrainingDivergedError``, Ctrl-C) propagates;
    ``on_train_end`` is then not called, and the model keeps the weights of the last good step.
    ``regularizer(model)``: a scalar Tensor added to every step's loss before backward (L2-SP); its value
    is recorded as each step's ``penalty``, read with the loss.
    ``log_every``: read the loss on the host every k steps (one device->host copy for the k steps;
    on a GPU each read waits for the queued work). With k > 1 the finite check, the progress bar and
    ``loop.last_loss`` lag up to k - 1 steps, and ``on_nan`` must be "raise".
    """
    loop = TrainingLoop(model, optimizer, train_loader, epochs, steps, loss_fn, val_loader, scheduler, callbacks,
                        scheduler_interval, on_nan, verbose, stream, regularizer, log_every)
    return loop.run(resume_from)
