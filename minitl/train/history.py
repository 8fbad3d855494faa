"""``History``: what happened during training, step by step and epoch by epoch, as plain data.

    history = fit(model, optimizer, loader, epochs=3, val_loader=val)
    history.epochs[-1]        {"epoch": 3, "train_loss": 0.41, "train_accuracy": 0.86, "val_loss": 0.45, ...}
    history["val_loss"]       [0.61, 0.50, 0.45]            one value per epoch (Keras' history.history)
    history.steps[-1]         {"step": 12, "epoch": 3, "loss": 0.39, "lr": 0.01, "seconds": 0.021}

Each epoch record holds: ``epoch`` (1-based), ``steps`` (optimizer steps in it), ``train_loss`` and
``train_accuracy`` (means over the epoch's samples, as measured while the weights were changing),
``val_loss`` / ``val_accuracy`` (after the epoch, in eval mode, when a validation loader is given),
``lr`` (group 0, at the end of the epoch), ``seconds`` (the epoch's wall time: ``train_seconds``, the
training steps, plus ``val_seconds``, the evaluation on the validation loader, apart because
evaluating a large validation set can take longer than training a frozen model), ``total_seconds``
(cumulative, across resumed runs too), ``trainable_blocks`` (indices into ``model.blocks()`` that
were trainable during the epoch: gradual unfreezing shows up here) and ``skipped_steps``
(non-finite losses skipped with ``on_nan="skip"``).

Everything is numbers, strings, lists and dicts, so ``to_json`` / ``from_json`` round-trip it and
a checkpoint stores it as text. ``resume_point`` is the loop's bookmark (which epoch, how many of
its batches were done, the random state at that epoch's start): checkpoint.py uses it to replay
the data order exactly after a resume.
"""
import json
import math

from ..viz.charts import history_chart

FORMAT = "minitl-history"


class History:
    """Per-step and per-epoch records of one training run (continued across resumes)."""

    def __init__(self, steps=None, epochs=None, resume_point=None):
        self.steps = list(steps or [])
        self.epochs = list(epochs or [])
        self.resume_point = resume_point

    # ----- reading -----
    def __getitem__(self, key):
        """Per-epoch values of ``key`` (``history["val_loss"]``); None where an epoch lacks it."""
        if not any(key in record for record in self.epochs):
            known = sorted({k for record in self.epochs for k in record})
            raise KeyError(f"History has no per-epoch metric {key!r}; it has {known}")
        return [record.get(key) for record in self.epochs]

    def __len__(self):
        return len(self.epochs)

    @property
    def step_losses(self):
        """The loss of every step, in order (NaN for a skipped step)."""
        return [record["loss"] for record in self.steps]

    @property
    def completed_epochs(self) -> int:
        """Epochs run to their end (a final partial epoch of a ``steps=`` run does not count)."""
        return sum(1 for record in self.epochs if not record.get("partial"))

    @property
    def total_steps(self) -> int:
        return self.steps[-1]["step"] if self.steps else 0

    @property
    def total_seconds(self) -> float:
        return self.epochs[-1]["total_seconds"] if self.epochs else 0.0

    def best(self, monitor="val_loss", mode="auto"):
        """The epoch record with the best ``monitor`` (lowest for losses, highest otherwise)."""
        mode = resolve_mode(monitor, mode)
        values = [(r[monitor], i) for i, r in enumerate(self.epochs) if is_number(r.get(monitor))]
        if not values:
            return None
        _, index = (min if mode == "min" else max)(values)
        return self.epochs[index]

    def plot(self, path=None):
        """Loss and accuracy curves per epoch as one PNG (Pillow); returns the image. See ``minitl.viz``."""
        return history_chart(self, path)

    # ----- serialising -----
    def to_dict(self) -> dict:
        return {"format": FORMAT, "steps": self.steps, "epochs": self.epochs, "resume_point": self.resume_point}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise ValueError(f"not a minitl History (format {found!r})")
        return cls(data.get("steps"), data.get("epochs"), data.get("resume_point"))

    def to_json(self, indent=None) -> str:
        """JSON text; a NaN loss of a skipped step is written as ``NaN`` (Python's json reads it back)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))

    @property
    def train_seconds(self) -> float:
        """Seconds spent in training steps, all epochs (evaluation on the validation loader left out)."""
        return sum(e.get("train_seconds", e.get("seconds", 0.0)) for e in self.epochs)

    @property
    def val_seconds(self) -> float:
        """Seconds spent evaluating on the validation loader, all epochs."""
        return sum(e.get("val_seconds", 0.0) for e in self.epochs)

    def __repr__(self):
        last = self.epochs[-1] if self.epochs else {}
        shown = [f"{k}={v:.4g}" for k, v in last.items() if k.endswith(("loss", "accuracy")) and is_number(v)]
        if self.epochs:
            shown.append(f"train {self.train_seconds:.2f}s" + (f", evaluation {self.val_seconds:.2f}s"
                                                              if self.val_seconds else ""))
        return f"History(epochs={len(self.epochs)}, steps={len(self.steps)}{', ' + ', '.join(shown) if shown else ''})"


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def resolve_mode(monitor, mode):
    """``"auto"`` means minimise anything named like a loss or error, maximise the rest."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "min" if ("loss" in monitor or "error" in monitor) else "max"
    return mode
