"""Resuming in the middle of an epoch: where the epoch starts, the batches to skip, the bookmark to leave.

A checkpoint saved after a run stopped part-way through an epoch (``max_steps``, a callback) holds
``History.resume_point``: the epoch, the steps already done in it, the data-order RNG at the
epoch's start and the running sums of its loss and accuracy. ``fit`` resumed from it replays the
same shuffle, skips the batches already trained on, restores the RNG as it was at save time, and
finishes the epoch, which is then recorded once (the partial record is dropped).
"""
from .checkpoint import capture_rng, restore_rng


def start_of_epoch(checkpoint, history, loader):
    """``(rng at the epoch's start, the running sums so far as a dict, batches already done)``.

    Without a checkpoint: a fresh epoch. With one: the bookmark's values, and the half epoch's
    record is taken out of ``history`` (it is redone to its end and recorded once).
    """
    if checkpoint is None:
        return capture_rng(loader), {}, 0
    point = checkpoint.resume_point
    if history.epochs and history.epochs[-1].get("partial"):
        history.epochs.pop()
    return point["rng"], point["accumulated"], checkpoint.skip_batches


def skip_done_batches(batches, checkpoint, count):
    """Same shuffle, same batches: skip the ``count`` already trained on, then restore the RNG saved with them."""
    for _ in range(count):
        next(batches)
    restore_rng({"global": checkpoint.meta["rng"]})


def bookmark(epoch, step_in_epoch, start_rng, means, partial, loader):
    """The ``History.resume_point`` an epoch leaves: mid-epoch (with its sums) when it stopped part-way."""
    if partial:
        return {"epoch": epoch - 1, "step_in_epoch": step_in_epoch, "rng": start_rng, "accumulated": means.to_dict()}
    return {"epoch": epoch, "step_in_epoch": 0, "rng": capture_rng(loader)}
