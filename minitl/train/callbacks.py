"""Callbacks: small objects that ``fit`` calls at fixed moments, to change a run without editing the loop.

The hooks, in the order fit calls them (each gets the running ``TrainingLoop``, ``loop``)::

    on_train_begin(loop)            start fresh (a callback may be reused by a second fit)
    load_state_dict(state)          only in a resumed fit: the state the checkpoint saved
      on_epoch_begin(loop)          loop.epoch is the 1-based epoch about to run
        on_step_end(loop)           after each optimizer step; loop.step, loop.last_loss
      on_epoch_end(loop)            loop.history.epochs[-1] holds this epoch's metrics
    on_train_end(loop)

Callbacks run in the order given, except that those with ``runs_last = True`` (ModelCheckpoint)
come after the rest: a checkpoint must see the other callbacks' state *after* this epoch.
Set ``loop.stop_training = True`` to end the run after the current step or epoch.

State: like PyTorch Lightning, a callback that remembers something across epochs returns it from
``state_dict()`` (numbers, strings, lists, dicts and arrays: codec.py stores them, no pickle) and
takes it back in ``load_state_dict(state)``, so a resumed run continues exactly. Three callbacks
come with minitl:

* ``GradualUnfreezing(every=k)``: ULMFiT's recipe (Howard & Ruder, 2018). Start with the backbone
  frozen; every ``k`` epochs unfreeze one more block, from the head down, so the layers that hold
  the most general features change last and least.
* ``EarlyStopping(monitor="val_loss", patience=3)``: stop when the metric stops improving, and
  put back the best weights.
* ``ModelCheckpoint(path, every=1)``: save a full checkpoint (checkpoint.py) every ``every`` epochs,
  or only when the monitored metric improves.
"""
from ..core import backend
from .checkpoint import save_checkpoint
from .history import is_number, resolve_mode


class Callback:
    """Base class: every hook does nothing and there is no state. Override what you need."""

    runs_last = False  # True: called after the callbacks without it (ModelCheckpoint)

    def state_dict(self) -> dict:
        """What a checkpoint must store to continue this callback exactly (nothing, by default)."""
        return {}

    def load_state_dict(self, state) -> None:
        """Take back what ``state_dict()`` returned (called after ``on_train_begin`` of a resumed fit)."""

    def on_train_begin(self, loop):
        pass

    def on_epoch_begin(self, loop):
        pass

    def on_step_end(self, loop):
        pass

    def on_epoch_end(self, loop):
        pass

    def on_train_end(self, loop):
        pass


class GradualUnfreezing(Callback):
    """Unfreeze the last still-frozen block of ``model.blocks()`` at the start of every ``every``-th epoch.

    It starts from whatever is frozen when training begins (``model.freeze_to(-1)``: only the head
    trains). With ``every=1`` epoch 1 trains the head, epoch 2 also the last backbone block, and so
    on. If the optimizer has a ``sync(model)`` method it is called after each change. The decision
    depends only on the epoch number, so a resumed run unfreezes at the same epochs.
    """

    def __init__(self, every=1):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"GradualUnfreezing: every must be a positive integer of epochs, got {every!r}")
        self.every = every
        self.unfrozen = []  # (epoch, block index) for every unfreezing done, for the record

    def on_epoch_begin(self, loop):
        index = loop.epoch - 1  # epochs completed before this one
        if index == 0 or index % self.every or loop.step_in_epoch > 0:
            return  # not due, or a resumed half epoch whose start already happened
        blocks = loop.model.blocks()
        frozen = [i for i, block in enumerate(blocks) if block.frozen and list(block.parameters())]
        if not frozen:
            return
        blocks[frozen[-1]].unfreeze()
        self.unfrozen.append((loop.epoch, frozen[-1]))
        sync = getattr(loop.optimizer, "sync", None)
        if callable(sync):
            sync(loop.model)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode``: "min", "max" or "auto" (min for names with "loss"). ``restore_best``: at the end, load
    the weights of the best epoch back into the model (a copy is kept in host memory, and saved in
    checkpoints with the best value and the patience counter, so a resumed run stops where the
    uninterrupted one would). A partial epoch (a ``steps=`` run's last) is not judged: a resumed
    run redoes it in full.
    """

    def __init__(self, monitor="val_loss", patience=3, min_delta=0.0, mode="auto", restore_best=True):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(float(min_delta))
        self.mode = resolve_mode(monitor, mode)
        self.restore_best = restore_best
        self.best, self.best_epoch, self.wait, self.stopped_epoch = None, None, 0, None
        self.best_state = None

    def improved(self, value) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, loop):
        self.best, self.best_epoch, self.wait, self.stopped_epoch, self.best_state = None, None, 0, None, None

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self.best_state}

    def load_state_dict(self, state) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch, self.best_state = state["stopped_epoch"], state["best_state"]

    def on_epoch_end(self, loop):
        record = loop.history.epochs[-1]
        if record.get("partial"):
            return
        if self.monitor not in record:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the epoch record has only "
                           f"{sorted(record)}; pass val_loader= to fit() for val_ metrics")
        value = record[self.monitor]
        if is_number(value) and self.improved(value):
            self.best, self.best_epoch, self.wait = value, record["epoch"], 0
            if self.restore_best:
                self.best_state = {k: backend.asnumpy(v).copy() for k, v in loop.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = record["epoch"]
            loop.stop_training = True

    def on_train_end(self, loop):
        if self.restore_best and self.best_state is not None and self.best_epoch != loop.history.epochs[-1]["epoch"]:
            loop.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Save a checkpoint after every ``every``-th epoch (``path`` may contain ``{epoch}``).

    ``save_best_only=True``: save only when ``monitor`` improves, so ``path`` always holds the best
    epoch so far (the best value is in its state, so a resumed run does not overwrite a better
    file with a worse one). Each save is atomic (see checkpoint.py), so an interrupted run keeps
    the last one. It runs after the other callbacks and saves their state too.
    """

    runs_last = True

    def __init__(self, path, every=1, save_best_only=False, monitor="val_loss", mode="auto"):
        self.path, self.every, self.save_best_only, self.monitor = path, int(every), save_best_only, monitor
        self.mode = resolve_mode(monitor, mode)
        self.best = None
        self.saved = []  # the paths written, in order

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state) -> None:
        self.best = state["best"]

    def on_epoch_end(self, loop):
        record = loop.history.epochs[-1]
        if record.get("partial") or record["epoch"] % self.every:
            return
        if self.save_best_only:
            value = record.get(self.monitor)
            if not is_number(value):
                raise KeyError(f"ModelCheckpoint(save_best_only=True) monitors {self.monitor!r}, which this "
                               f"epoch did not report (it has {sorted(record)})")
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if not better:
                return
        previous = self.best
        if self.save_best_only:
            self.best = value  # before saving: the file must record the best it holds
        fields = {k: v for k, v in record.items() if is_number(v)}  # "{epoch}", "{val_loss:.3f}"
        path = str(self.path).format(**fields)
        try:
            save_checkpoint(path, loop.model, loop.optimizer, loop.scheduler, epoch=loop.history.completed_epochs,
                            history=loop.history, callbacks=loop.callbacks)
        except BaseException:
            self.best = previous  # nothing was saved, so nothing better is on disk
            raise
        self.saved.append(path)
