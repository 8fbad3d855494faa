"""Callbacks: hook order, gradual unfreezing, early stopping, checkpointing."""
import numpy
import pytest

import minitl
from minitl.core.tensor import Tensor
from minitl.data import ArrayDataset
from minitl.data.loader import DataLoader
from minitl.models.mlp import MLP
from minitl.models.smallcnn import SmallCNN
from minitl.optim import SGD
from minitl.train import Callback, EarlyStopping, GradualUnfreezing, ModelCheckpoint, fit, load_checkpoint


def batches(n_batches=3, size=8, features=6, classes=3, seed=0):
    rng = numpy.random.default_rng(seed)
    return [(Tensor(rng.standard_normal((size, features)).astype(numpy.float32)),
             Tensor(rng.integers(0, classes, size), dtype="int64")) for _ in range(n_batches)]


def image_loader(n=16):
    rng = numpy.random.default_rng(2)
    data = ArrayDataset(rng.random((n, 1, 8, 8)).astype(numpy.float32), rng.integers(0, 3, n), ["a", "b", "c"])
    return DataLoader(data, batch_size=8)


class Recorder(Callback):
    def __init__(self, stop_at_step=None):
        self.calls, self.stop_at_step = [], stop_at_step

    def on_train_begin(self, loop):
        self.calls.append("train_begin")

    def on_epoch_begin(self, loop):
        self.calls.append(f"epoch_begin {loop.epoch}")

    def on_step_end(self, loop):
        self.calls.append(f"step {loop.step}")
        if loop.step == self.stop_at_step:
            loop.stop_training = True

    def on_epoch_end(self, loop):
        self.calls.append(f"epoch_end {loop.history.epochs[-1]['epoch']}")

    def on_train_end(self, loop):
        self.calls.append("train_end")


def test_hooks_run_in_order_and_can_stop_training():
    model = MLP([6, 3])
    recorder = Recorder()
    fit(model, SGD(model, lr=0.1), batches(2), epochs=2, callbacks=[recorder], verbose=False)
    assert recorder.calls == ["train_begin", "epoch_begin 1", "step 1", "step 2", "epoch_end 1",
                              "epoch_begin 2", "step 3", "step 4", "epoch_end 2", "train_end"]
    recorder = Recorder(stop_at_step=4)
    history = fit(model, SGD(model, lr=0.1), batches(3), epochs=5, callbacks=[recorder], verbose=False)
    assert len(history.steps) == 4 and history.epochs[-1]["partial"] and recorder.calls[-1] == "train_end"


def test_gradual_unfreezing_unfreezes_one_block_per_k_epochs_from_the_head_down():
    minitl.manual_seed(0)
    model = SmallCNN(num_classes=3)
    model.freeze_to(-1)                      # only the head trains
    optimizer = SGD(model, lr=0.01)
    unfreezing = GradualUnfreezing(every=2)
    reports = []

    class LastReport(Callback):
        def on_epoch_end(self, loop):
            reports.append(loop.optimizer.last_step_report())

    history = fit(model, optimizer, image_loader(), epochs=5, callbacks=[unfreezing, LastReport()], verbose=False)
    assert history["trainable_blocks"] == [[3], [3], [2, 3], [2, 3], [1, 2, 3]]
    assert unfreezing.unfrozen == [(3, 2), (5, 1)]
    assert reports[1]["backbone.block3.0.weight"]["status"] == "frozen"
    assert reports[2]["backbone.block3.0.weight"]["status"] == "updated"
    assert reports[4]["backbone.block1.0.weight"]["status"] == "frozen"
    with pytest.raises(ValueError, match="positive integer"):
        GradualUnfreezing(every=0)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = MLP([6, 3])
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, loop):
            snapshots.append({k: v.copy() for k, v in loop.model.state_dict().items()})

    # train_loss falls every epoch, so in "max" mode the first epoch stays the best.
    stopper = EarlyStopping(monitor="train_loss", mode="max", patience=2)
    history = fit(model, SGD(model, lr=0.1), batches(), epochs=10, callbacks=[Snapshot(), stopper], verbose=False)
    assert len(history) == 3 and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    for name, array in model.state_dict().items():
        numpy.testing.assert_array_equal(array, snapshots[0][name])
    with pytest.raises(KeyError, match="pass val_loader="):
        fit(model, SGD(model, lr=0.1), batches(), epochs=1, callbacks=[EarlyStopping()], verbose=False)


def test_model_checkpoint_saves_every_k_epochs_or_the_best(tmp_path):
    model = MLP([6, 3])
    every = ModelCheckpoint(tmp_path / "epoch{epoch}.npz", every=2)
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, monitor="val_loss")
    history = fit(model, SGD(model, lr=0.1), batches(), epochs=4, val_loader=batches(seed=1),
                  callbacks=[every, best], verbose=False)
    assert every.saved == [str(tmp_path / "epoch2.npz"), str(tmp_path / "epoch4.npz")]
    assert load_checkpoint(tmp_path / "epoch4.npz").epoch == 4
    best_epoch = history.best("val_loss")["epoch"]
    assert load_checkpoint(tmp_path / "best.npz").epoch == best_epoch


def test_early_stopping_resumed_mid_patience_stops_at_the_same_epoch_with_the_same_best_weights(tmp_path):
    # train_loss falls every epoch, so in "max" mode epoch 1 stays the best and patience=2 stops at epoch 3.
    def run(epochs, callbacks, resume_from=None):
        minitl.manual_seed(0 if resume_from is None else 7)   # a resumed run starts from other weights
        model = MLP([6, 3])
        history = fit(model, SGD(model, lr=0.1), batches(), epochs=epochs, callbacks=callbacks, verbose=False,
                      resume_from=resume_from)
        return model, history

    straight_stopper = EarlyStopping(monitor="train_loss", mode="max", patience=2)
    straight, straight_history = run(10, [straight_stopper])
    assert straight_stopper.stopped_epoch == 3 and straight_stopper.best_epoch == 1

    # ModelCheckpoint first in the list: it still runs last, so it saves the stopper's state after epoch 2.
    run(2, [ModelCheckpoint(tmp_path / "e{epoch}.npz"), EarlyStopping(monitor="train_loss", mode="max", patience=2)])
    with numpy.load(tmp_path / "e2.npz", allow_pickle=False) as archive:   # best weights: plain arrays
        assert "callbacks/0" in archive.files and archive["callbacks/0"].dtype == numpy.float32
    stopper = EarlyStopping(monitor="train_loss", mode="max", patience=2)
    resumed, history = run(10, [stopper], resume_from=tmp_path / "e2.npz")   # the ModelCheckpoint is gone: fine
    assert (stopper.wait, stopper.stopped_epoch, stopper.best_epoch) == (2, 3, 1)
    assert len(history) == len(straight_history) == 3
    for name, array in straight.state_dict().items():
        numpy.testing.assert_array_equal(resumed.state_dict()[name], array, err_msg=name)


def test_model_checkpoint_best_only_keeps_a_better_earlier_file_after_a_resume(tmp_path):
    def callbacks():   # two of one class: keys ModelCheckpoint/0 and /1 keep separate bests
        return [ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, monitor="train_loss", mode="max"),
                ModelCheckpoint(tmp_path / "last.npz")]

    minitl.manual_seed(0)
    model = MLP([6, 3])
    first = fit(model, SGD(model, lr=0.1), batches(), epochs=2, callbacks=callbacks(), verbose=False)
    saved = load_checkpoint(tmp_path / "last.npz")
    assert saved.callback_states == {"ModelCheckpoint/0": {"best": first["train_loss"][0]},
                                     "ModelCheckpoint/1": {"best": None}}
    assert load_checkpoint(tmp_path / "best.npz").epoch == 1

    best, last = callbacks()
    history = fit(model, SGD(model, lr=0.1), batches(), epochs=4, callbacks=[best, last, GradualUnfreezing()],
                  verbose=False, resume_from=tmp_path / "last.npz")   # GradualUnfreezing has no saved state: fine
    assert history["train_loss"][2] < history["train_loss"][0]        # epochs 3 and 4 are worse in "max" mode
    assert best.saved == [] and best.best == first["train_loss"][0]
    assert load_checkpoint(tmp_path / "best.npz").epoch == 1
    assert load_checkpoint(tmp_path / "last.npz").epoch == 4


def test_model_checkpoint_best_only_keeps_its_best_when_the_save_fails(tmp_path, monkeypatch):
    from minitl.train import callbacks as callbacks_module

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    minitl.manual_seed(0)
    model = MLP([6, 3])
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, monitor="train_loss")
    first = fit(model, SGD(model, lr=0.1), batches(), epochs=1, callbacks=[best], verbose=False)
    monkeypatch.setattr(callbacks_module, "save_checkpoint", full_disk)
    with pytest.raises(OSError):
        fit(model, SGD(model, lr=0.1), batches(), epochs=1, callbacks=[best], verbose=False)
    assert best.best == first["train_loss"][0]   # the better value was never saved
