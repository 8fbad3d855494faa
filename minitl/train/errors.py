"""The training loop's own exceptions: each names what went wrong and what to try next.
"""


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; training stopped before the bad step changed the weights.

    ``step`` is the 1-based global step whose loss was not finite, ``epoch`` its 1-based epoch,
    ``loss`` the bad value and ``last_finite_loss`` the loss of the last good step (None if the
    very first step diverged).
    """

    def __init__(self, step, epoch, loss, last_finite_loss):
        self.step, self.epoch, self.loss, self.last_finite_loss = step, epoch, loss, last_finite_loss
        last = "no finite loss was seen yet" if last_finite_loss is None else f"last finite loss {last_finite_loss:.6g}"
        super().__init__(
            f"training diverged: the loss at step {step} (epoch {epoch}) is {loss}; {last}. The weights were "
            "not updated by this step. Try a lower learning rate, check the inputs for NaN, or pass "
            "on_nan='skip' to fit() to skip such steps.")


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable, of the wrong kind, or does not fit the model / optimizer given."""

    def __init__(self, path, message):
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)
