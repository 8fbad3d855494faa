"""fit / evaluate: history, NaN handling, schedulers, progress output."""
import io
import math
import re
import sys

import numpy
import pytest

import minitl
from minitl.core.ops.loss import cross_entropy
from minitl.core.tensor import Tensor
from minitl.models.mlp import MLP
from minitl.nn import Dropout, Linear, Sequential
from minitl.optim import SGD
from minitl.optim.lr_scheduler import StepLR
from minitl.train import History, TrainingDivergedError, evaluate, fit


def batches(n_batches=4, size=8, features=6, classes=3, seed=0):
    """A list of (x, y) Tensor pairs: the simplest valid loader."""
    rng = numpy.random.default_rng(seed)
    return [(Tensor(rng.standard_normal((size, features)).astype(numpy.float32)),
             Tensor(rng.integers(0, classes, size), dtype="int64")) for _ in range(n_batches)]


def small_model():
    return MLP([6, 8, 3])


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_fit_records_steps_and_epochs():
    model = small_model()
    history = fit(model, SGD(model, lr=0.1), batches(), epochs=3, val_loader=batches(seed=1), verbose=False)
    assert isinstance(history, History) and len(history) == 3 and len(history.steps) == 12
    assert [s["step"] for s in history.steps] == list(range(1, 13))
    assert [s["epoch"] for s in history.steps] == [1] * 4 + [2] * 4 + [3] * 4
    record = history.epochs[-1]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds", "total_seconds"):
        assert isinstance(record[key], float), key
    assert record["trainable_blocks"] == [0, 1] and record["skipped_steps"] == 0
    assert history.total_seconds >= history.epochs[0]["total_seconds"]
    assert history["train_loss"][-1] < history["train_loss"][0]   # it learns
    assert history.best("val_loss")["val_loss"] == min(history["val_loss"])
    assert History.from_json(history.to_json()).to_dict() == history.to_dict()
    with pytest.raises(KeyError, match="no per-epoch metric 'val_acc'"):
        history["val_acc"]


def test_steps_stop_inside_an_epoch_and_mark_it_partial():
    model = small_model()
    history = fit(model, SGD(model, lr=0.1), batches(), steps=6, verbose=False)
    assert len(history.steps) == 6
    assert [e["steps"] for e in history.epochs] == [4, 2]
    assert history.epochs[-1]["partial"] is True and history.completed_epochs == 1
    with pytest.raises(ValueError, match="epochs= or steps="):
        fit(model, SGD(model, lr=0.1), batches())


def test_scheduler_steps_per_epoch_by_default_or_per_step():
    model = small_model()
    optimizer = SGD(model, lr=1.0)
    history = fit(model, optimizer, batches(2), epochs=3, scheduler=StepLR(optimizer, 1, gamma=0.5), verbose=False)
    assert [s["lr"] for s in history.steps] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    model = small_model()
    optimizer = SGD(model, lr=1.0)
    history = fit(model, optimizer, batches(2), epochs=2, scheduler=StepLR(optimizer, 1, gamma=0.5),
                  scheduler_interval="step", verbose=False)
    assert [s["lr"] for s in history.steps] == [1.0, 0.5, 0.25, 0.125]


def nan_at(step_number):
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        loss = cross_entropy(outputs, targets)
        return loss * float("nan") if len(calls) == step_number else loss
    return loss_fn


def test_nan_loss_stops_with_the_step_and_the_last_finite_loss():
    model = small_model()
    optimizer = SGD(model, lr=0.1)
    history_probe = []

    class Probe(minitl.train.Callback):
        def on_step_end(self, loop):
            history_probe.append((loop.last_loss, {k: v.copy() for k, v in model.state_dict().items()}))

    with pytest.raises(TrainingDivergedError) as caught:
        fit(model, optimizer, batches(), epochs=2, loss_fn=nan_at(6), callbacks=[Probe()], verbose=False)
    error = caught.value
    assert error.step == 6 and error.epoch == 2 and math.isnan(error.loss)
    assert error.last_finite_loss == history_probe[-1][0]
    assert "step 6 (epoch 2)" in str(error) and f"{error.last_finite_loss:.6g}" in str(error)
    for name, array in model.state_dict().items():   # the bad step changed nothing
        numpy.testing.assert_array_equal(array, history_probe[-1][1][name])


def test_nan_loss_is_skipped_when_told():
    model = small_model()
    history = fit(model, SGD(model, lr=0.1), batches(), epochs=2, loss_fn=nan_at(3), on_nan="skip", verbose=False)
    assert len(history.steps) == 8 and history.steps[2]["skipped"] is True and math.isnan(history.steps[2]["loss"])
    assert [e["skipped_steps"] for e in history.epochs] == [1, 0]
    assert all(math.isfinite(e["train_loss"]) for e in history.epochs)
    assert math.isnan(History.from_json(history.to_json()).steps[2]["loss"])


def test_evaluate_uses_eval_mode_no_grad_and_restores_modes():
    minitl.manual_seed(0)
    model = Sequential(Linear(6, 16), Dropout(0.5), Linear(16, 3))
    data = batches()
    model.train()
    model[1].eval()   # a mixed state must come back exactly
    first = evaluate(model, data)
    assert first == evaluate(model, data)                  # dropout off: deterministic
    assert set(first) == {"loss", "accuracy", "samples"} and first["samples"] == 32
    assert [m.training for m in model.modules()] == [True, True, False, True]
    assert all(p.grad is None for p in model.parameters())
    expected = numpy.mean([cross_entropy(model[2](model[0](x)), y).item() for x, y in data])
    assert first["loss"] == pytest.approx(expected, rel=1e-6)
    model.eval()
    evaluate(model, data)
    assert not any(m.training for m in model.modules())
    with pytest.raises(ValueError, match="yielded no batches"):
        evaluate(model, [])


def run_with_stream(stream, verbose, epochs=2):
    model = small_model()
    fit(model, SGD(model, lr=0.1), batches(), epochs=epochs, val_loader=batches(seed=1), verbose=verbose,
        stream=stream)
    return stream.getvalue()


def test_progress_is_silent_off_a_terminal_unless_forced():
    assert run_with_stream(io.StringIO(), verbose=None) == ""
    assert run_with_stream(FakeTTY(), verbose=False) == ""
    lines = run_with_stream(io.StringIO(), verbose=True).splitlines()
    assert len(lines) == 2 and "\r" not in "".join(lines)
    pattern = r"epoch 2/2 \[#{30}\] 4/4 loss [\d.]+ acc [\d.]+ val_loss [\d.]+ val_acc [\d.]+ [\d.]+s"
    assert re.fullmatch(pattern, lines[1]), lines[1]


def test_progress_on_a_terminal_is_tqdm_or_the_plain_live_bar(monkeypatch):
    pytest.importorskip("tqdm")
    assert "epoch 1/2" in run_with_stream(FakeTTY(), verbose=None)
    monkeypatch.setitem(sys.modules, "tqdm", None)     # as if tqdm were not installed
    text = run_with_stream(FakeTTY(), verbose=None)
    assert text.startswith("\repoch 1/2 [") and text.count("\n") == 2


# ----- issue 15: empty loaders and bad targets are errors, not endless or silent runs -----

class _EmptyIterable:
    """Yields nothing, has no len(), and gives up after 50 passes (so the old endless loop fails fast)."""

    def __init__(self):
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        if self.passes > 50:
            raise RuntimeError("iterated 50 times: fit() is looping over an empty loader")
        return iter(())


def test_fit_on_an_empty_loader_without_len_raises_instead_of_looping():
    model = small_model()
    optimizer = SGD(model, lr=0.1)
    with pytest.raises(ValueError, match="_EmptyIterable yielded no batches in epoch 1"):
        fit(model, optimizer, _EmptyIterable(), steps=3, verbose=False)


class _EmptyWithLen(_EmptyIterable):
    def __len__(self):
        return 0


@pytest.mark.parametrize("targets", [{"steps": 3}, {"epochs": 2}])
def test_fit_on_an_empty_loader_with_len_zero_raises(targets):
    model = small_model()
    optimizer = SGD(model, lr=0.1)
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, optimizer, _EmptyWithLen(), verbose=False, **targets)


@pytest.mark.parametrize("targets", [{"steps": -1}, {"steps": 0}, {"epochs": 0}, {"epochs": 1.5},
                                     {"epochs": True}, {"epochs": 2, "steps": -3}])
def test_fit_refuses_epochs_and_steps_that_are_not_positive_integers(targets):
    model = small_model()
    optimizer = SGD(model, lr=0.1)
    with pytest.raises(ValueError, match="must be a positive integer"):
        fit(model, optimizer, batches(), verbose=False, **targets)


# ----- host reads on the GPU path (the strict CuPy stand-in counts device->host copies) -----

def device_batches(device, **kwargs):
    return [(x.to(device), y.to(device)) for x, y in batches(**kwargs)]


def test_fit_and_evaluate_on_every_device(device):
    minitl.manual_seed(0)
    model = small_model().to(device)
    history = fit(model, SGD(model, lr=0.1), device_batches(device), epochs=3,
                  val_loader=device_batches(device, seed=1), verbose=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert all(isinstance(s["loss"], float) for s in history.steps)
    scores = evaluate(model, device_batches(device, seed=1))
    assert scores["loss"] == pytest.approx(history["val_loss"][-1]) and scores["samples"] == 32


def test_a_training_step_makes_one_device_to_host_copy(standin):
    from minitl.data import ArrayDataset, DataLoader  # noqa: PLC0415
    from minitl.models import SmallCNN  # noqa: PLC0415

    rng = numpy.random.default_rng(0)
    data = ArrayDataset(rng.integers(0, 256, (32, 1, 28, 28), dtype=numpy.uint8), rng.integers(0, 10, 32),
                        [str(c) for c in range(10)])
    model = SmallCNN().to("cuda")
    optimizer = minitl.optim.Adam(model.parameters(), lr=1e-3)
    standin.COUNTS.reset()
    history = fit(model, optimizer, DataLoader(data, batch_size=8, device="cuda"), steps=4, verbose=False)
    assert len(history.steps) == 4 and all(math.isfinite(s["loss"]) for s in history.steps)
    assert standin.COUNTS.device_to_host == 4  # the loss (and the correct count) of each step, one copy
    assert standin.COUNTS.host_to_device == 8  # each batch: images once, labels once
    standin.COUNTS.reset()
    evaluate(model, DataLoader(data, batch_size=8, device="cuda"))
    assert standin.COUNTS.device_to_host == 1  # the whole pass read at its end


def test_log_every_reads_every_k_steps_and_records_every_loss(standin):
    def run(log_every):
        minitl.manual_seed(0)
        model = small_model().to("cuda")
        standin.COUNTS.reset()
        history = fit(model, SGD(model, lr=0.1), device_batches("cuda"), steps=8, log_every=log_every,
                      verbose=False)
        return history, standin.COUNTS.device_to_host

    every_step, copies_1 = run(1)
    every_4, copies_4 = run(4)
    assert (copies_1, copies_4) == (8, 2)  # 8 steps in 2 epochs of 4: one read per epoch end with k=4
    assert every_4.step_losses == every_step.step_losses
    assert every_4["train_loss"] == every_step["train_loss"]
    assert every_4["train_accuracy"] == every_step["train_accuracy"]


def test_log_every_checks_the_loss_at_the_read():
    model = small_model()
    with pytest.raises(TrainingDivergedError) as caught:
        fit(model, SGD(model, lr=0.1), batches(), epochs=2, loss_fn=nan_at(2), log_every=3, verbose=False)
    assert caught.value.step == 2  # found at the read after step 3, reported at the step that went bad
    with pytest.raises(ValueError, match="log_every=1"):
        fit(model, SGD(model, lr=0.1), batches(), epochs=1, on_nan="skip", log_every=2, verbose=False)
    with pytest.raises(ValueError, match="positive integer"):
        fit(model, SGD(model, lr=0.1), batches(), epochs=1, log_every=0, verbose=False)


def test_out_of_range_target_on_the_device_raises_at_the_loss_read(standin):
    model = small_model().to("cuda")
    data = device_batches("cuda")
    bad_x, bad_y = data[1]
    data[1] = (bad_x, Tensor(numpy.array([0, 1, 2, 7, 0, 1, 2, 0]), device="cuda"))
    standin.COUNTS.reset()
    with pytest.raises(IndexError, match="class target 7 is out of range for 3 classes"):
        fit(model, SGD(model, lr=0.1), data, epochs=1, verbose=False)
    assert standin.COUNTS.device_to_host == 2  # no extra sync for the check: it rode with the loss read


class TickingLoader:
    """Batches that move a fake clock forward by ``tick`` seconds each: the time a loader costs, made exact."""

    def __init__(self, data, clock, tick):
        self.data, self.clock, self.tick = data, clock, tick

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        for batch in self.data:
            self.clock[0] += self.tick
            yield batch


def test_history_keeps_training_and_evaluation_time_apart(monkeypatch):
    """A validation set that costs far more than training used to swallow the training time ("seconds" held
    both): 4 training batches of 1 s and 5 validation batches of 20 s each epoch, on a fake clock."""
    clock = [0.0]
    monkeypatch.setattr("minitl.train.loop.time.perf_counter", lambda: clock[0])
    model = small_model()
    history = fit(model, SGD(model, lr=0.1), TickingLoader(batches(), clock, 1.0), epochs=2,
                  val_loader=TickingLoader(batches(5, seed=1), clock, 20.0), verbose=False)
    for record in history.epochs:
        assert (record["train_seconds"], record["val_seconds"], record["seconds"]) == (4.0, 100.0, 104.0)
    assert (history.train_seconds, history.val_seconds, history.total_seconds) == (8.0, 200.0, 208.0)
    assert "train 8.00s, evaluation 200.00s" in repr(history)
    plain = fit(model, SGD(model, lr=0.1), TickingLoader(batches(), clock, 1.0), epochs=1, verbose=False)
    assert plain.epochs[0]["val_seconds"] == 0.0 and plain.train_seconds == 4.0
