"""Checkpoints: a resumed run continues exactly; a failed write leaves the old file intact."""
import json
import os
import signal
import subprocess
import sys

import numpy
import pytest

import minitl
from minitl.data import ArrayDataset
from minitl.data.loader import DataLoader
from minitl.models.mlp import MLP
from minitl.models.smallcnn import SmallCNN
from minitl.optim import SGD, Adam
from minitl.optim.lr_scheduler import StepLR
from minitl.train import CheckpointError, History, fit, load_checkpoint, resume, save_checkpoint
from minitl.train import checkpoint as checkpoint_module


def make_data(n=48, seed=3):
    rng = numpy.random.default_rng(seed)
    images = rng.random((n, 1, 8, 8)).astype(numpy.float32)
    labels = rng.integers(0, 3, n)
    return ArrayDataset(images, labels, classes=["a", "b", "c"])


def build_cnn(seed=1):
    minitl.manual_seed(seed)
    model = SmallCNN(num_classes=3)
    model.freeze_to(1)                     # block1 frozen
    model.backbone.block3.lr_scale = 0.1   # block3 scaled
    optimizer = SGD(model, lr=0.05, momentum=0.9, weight_decay=1e-4)
    return model, optimizer, StepLR(optimizer, step_size=1, gamma=0.5)


def build_mlp(seed=1):
    minitl.manual_seed(seed)
    model = MLP([64, 16, 16, 3], dropout=0.2)   # dropout draws from the global generator
    model.hidden[0].freeze()
    model.head.lr_scale = 3.0
    optimizer = Adam(model, lr=0.01)
    return model, optimizer, None


CASES = [
    pytest.param(build_cnn, {"shuffle": True, "seed": 7}, id="cnn-sgd-momentum-loader-seed"),
    pytest.param(build_mlp, {"shuffle": True}, id="mlp-adam-dropout-global-rng"),
]


@pytest.mark.parametrize("build, loader_options", CASES)
@pytest.mark.parametrize("stop", [6, 8], ids=["mid-epoch", "epoch-boundary"])
def test_resume_gives_the_same_next_losses_as_an_uninterrupted_run(tmp_path, build, loader_options, stop):
    data, total = make_data(), 14   # 48 images / batch 12 = 4 steps per epoch

    model, optimizer, scheduler = build()
    minitl.manual_seed(99)
    straight = fit(model, optimizer, DataLoader(data, 12, **loader_options), steps=total, scheduler=scheduler,
                   verbose=False)

    model, optimizer, scheduler = build()
    minitl.manual_seed(99)
    first = fit(model, optimizer, DataLoader(data, 12, **loader_options), steps=stop, scheduler=scheduler,
                verbose=False)
    save_checkpoint(tmp_path / "run.npz", model, optimizer, scheduler, history=first)
    for _ in range(5):
        minitl.random.get_rng().random()   # the new process's generator is somewhere else

    model, optimizer, scheduler = build(seed=123)          # fresh weights, nothing frozen or scaled yet
    model.unfreeze()
    for module in model.modules():
        module.lr_scale = None
    resumed = fit(model, optimizer, DataLoader(data, 12, **loader_options), steps=total, scheduler=scheduler,
                  verbose=False, resume_from=tmp_path / "run.npz")

    assert [s["step"] for s in resumed.steps] == list(range(1, total + 1))
    numpy.testing.assert_array_equal(resumed.step_losses, straight.step_losses)  # bit for bit on the CPU
    assert [s["lr"] for s in resumed.steps] == [s["lr"] for s in straight.steps]
    keys = ("epoch", "steps", "train_loss", "train_accuracy", "trainable_blocks", "partial")
    assert [{k: e.get(k) for k in keys} for e in resumed.epochs] == [{k: e.get(k) for k in keys}
                                                                     for e in straight.epochs]


def test_checkpoint_restores_frozen_set_lr_scales_and_optimizer_state(tmp_path):
    model, optimizer, scheduler = build_cnn()
    batches = list(DataLoader(make_data(), 12))
    history = fit(model, optimizer, batches, epochs=2, scheduler=scheduler, verbose=False)
    save_checkpoint(tmp_path / "c.npz", model, optimizer, scheduler, history=history, extra={"note": "hi"})

    ckpt = load_checkpoint(tmp_path / "c.npz")
    assert ckpt.epoch == 2 and ckpt.step == 8 and ckpt.extra == {"note": "hi"}
    assert ckpt.frozen_modules == ["backbone.block1"]
    assert ckpt.lr_scales == {"backbone.block3": 0.1}
    assert isinstance(ckpt.history, History) and ckpt.history.to_dict() == history.to_dict()

    fresh, fresh_optimizer, fresh_scheduler = build_cnn(seed=5)
    fresh.unfreeze()
    fresh.backbone.block3.lr_scale = None
    fresh.head.lr_scale = 9.0
    resume(tmp_path / "c.npz", fresh, fresh_optimizer, fresh_scheduler)
    assert fresh.backbone.block1.frozen and not fresh.backbone.block2.frozen
    assert fresh.backbone.block3.lr_scale == 0.1 and fresh.head.lr_scale is None
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        numpy.testing.assert_array_equal(a, b, err_msg=name)
    saved, loaded = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    assert saved["state"].keys() == loaded["state"].keys()
    for index in saved["state"]:
        numpy.testing.assert_array_equal(saved["state"][index]["momentum_buffer"],
                                         loaded["state"][index]["momentum_buffer"])
    assert fresh_scheduler.last_epoch == scheduler.last_epoch


def test_checkpoint_is_a_plain_npz_without_pickles(tmp_path):
    model, optimizer, _ = build_cnn()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    with numpy.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert "checkpoint.json" in archive.files
        assert "model/head.weight" in archive.files
        assert all(archive[name].dtype != object for name in archive.files)


def test_a_failed_write_leaves_the_previous_checkpoint_byte_identical(tmp_path, monkeypatch):
    model, optimizer, _ = build_cnn()
    path = tmp_path / "run.npz"
    save_checkpoint(path, model, optimizer, epoch=1)
    before = path.read_bytes()

    def crash_mid_write(file, arrays):
        file.write(b"PK\x03\x04 half an archive")   # some bytes reach the temporary file ...
        raise OSError("disk full")                     # ... then the write fails

    monkeypatch.setattr(checkpoint_module, "_write_members", crash_mid_write)
    model.head.weight.data += 1.0
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, optimizer, epoch=2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.npz"]        # no temporary file left behind
    assert load_checkpoint(path).epoch == 1


def test_errors_name_the_file_and_the_problem(tmp_path):
    model, optimizer, _ = build_cnn()
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")
    minitl_weights = tmp_path / "weights.npz"
    numpy.savez(minitl_weights, a=numpy.zeros(2))
    with pytest.raises(CheckpointError, match="not a minitl checkpoint"):
        load_checkpoint(minitl_weights)
    save_checkpoint(tmp_path / "cnn.npz", model, None)
    with pytest.raises(CheckpointError, match="does not fit MLP"):
        resume(tmp_path / "cnn.npz", MLP([64, 3]))
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        resume(tmp_path / "cnn.npz", model, optimizer)


def test_resume_with_gradual_unfreezing_and_model_checkpoint_matches_the_straight_run(tmp_path):
    from minitl.train import GradualUnfreezing, ModelCheckpoint

    def build():
        minitl.manual_seed(4)
        model = SmallCNN(num_classes=3)
        model.freeze_to(-1)
        model.head.lr_scale = 2.0
        return model, Adam(model, lr=0.01)

    loader = DataLoader(make_data(24), 12, shuffle=True, seed=5)
    model, optimizer = build()
    straight = fit(model, optimizer, loader, epochs=4, verbose=False,
                   callbacks=[GradualUnfreezing(every=1), ModelCheckpoint(tmp_path / "e{epoch}.npz")])

    model, optimizer = build()
    model.unfreeze()
    resumed = fit(model, optimizer, DataLoader(make_data(24), 12, shuffle=True, seed=5), epochs=4, verbose=False,
                  callbacks=[GradualUnfreezing(every=1)], resume_from=tmp_path / "e2.npz")
    numpy.testing.assert_array_equal(resumed.step_losses, straight.step_losses)
    assert resumed["trainable_blocks"] == straight["trainable_blocks"] == [[3], [2, 3], [1, 2, 3], [0, 1, 2, 3]]


def build_head_only_adam(seed=0):
    """The PyTorch idiom: an optimizer of the trainable parameters only; GradualUnfreezing grows it."""
    minitl.manual_seed(seed)
    model = MLP([64, 16, 3])
    model.freeze_to(-1)
    return model, Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)


def test_resume_of_an_optimizer_that_grew_by_sync_matches_the_straight_run(tmp_path):
    from minitl.train import GradualUnfreezing, ModelCheckpoint

    model, optimizer = build_head_only_adam()
    straight = fit(model, optimizer, DataLoader(make_data(24), 12), epochs=3, verbose=False,
                   callbacks=[GradualUnfreezing(every=1), ModelCheckpoint(tmp_path / "e{epoch}.npz")])
    model, optimizer = build_head_only_adam()
    resumed = fit(model, optimizer, DataLoader(make_data(24), 12), epochs=3, verbose=False,
                  callbacks=[GradualUnfreezing(every=1)], resume_from=tmp_path / "e2.npz")
    numpy.testing.assert_array_equal(resumed.step_losses, straight.step_losses)


def test_a_failed_resume_changes_nothing_and_names_the_file(tmp_path):
    model, optimizer = build_head_only_adam()
    optimizer.add_param_group({"params": model.hidden[0].parameters()})
    save_checkpoint(tmp_path / "two_groups.npz", model, optimizer)

    model, optimizer = build_head_only_adam(seed=1)
    weights = {k: v.copy() for k, v in model.state_dict().items()}
    trainable = [p.requires_grad for p in model.parameters()]
    with pytest.raises(CheckpointError,
                       match=r"two_groups\.npz: its optimizer state does not fit Adam.*2 param groups"):
        resume(tmp_path / "two_groups.npz", model, optimizer)
    for name, array in model.state_dict().items():
        numpy.testing.assert_array_equal(array, weights[name])
    assert [p.requires_grad for p in model.parameters()] == trainable
    assert [len(g["params"]) for g in optimizer.param_groups] == [2]


@pytest.mark.parametrize("damage", ["truncated", "no epoch"])
def test_a_damaged_checkpoint_is_a_checkpoint_error_naming_the_file(tmp_path, damage):
    model, optimizer, _ = build_mlp()
    path = tmp_path / "run.npz"
    save_checkpoint(path, model, optimizer)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        with numpy.load(path) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(bytes(arrays["checkpoint.json"]).decode())
        del meta["epoch"]
        arrays["checkpoint.json"] = numpy.frombuffer(json.dumps(meta).encode(), dtype=numpy.uint8)
        numpy.savez(path, **arrays)
    with pytest.raises(CheckpointError, match=r"run\.npz: .*(BadZipFile|missing field\(s\) \['epoch'\])"):
        load_checkpoint(path)


# ----- issue 15: hostile checkpoints are bounded, and resume() is all or nothing -----

def _rewrite(path, edit_meta=None, compression=None, extra=None):
    """Re-save the checkpoint at ``path`` with its checkpoint.json edited (and maybe extra members)."""
    with numpy.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(arrays["checkpoint.json"]).decode())
    if edit_meta is not None:
        edit_meta(meta)
    arrays["checkpoint.json"] = numpy.frombuffer(json.dumps(meta).encode(), dtype=numpy.uint8)
    arrays.update(extra or {})
    (numpy.savez_compressed if compression else numpy.savez)(path, **arrays)


def _model_snapshot(model):
    return ({k: v.copy() for k, v in model.state_dict().items()}, [p.requires_grad for p in model.parameters()],
            [m.lr_scale for m in model.modules()])


def _assert_unchanged(model, snapshot):
    weights, trainable, scales = snapshot
    for name, array in model.state_dict().items():
        numpy.testing.assert_array_equal(array, weights[name])
    assert [p.requires_grad for p in model.parameters()] == trainable
    assert [m.lr_scale for m in model.modules()] == scales


def test_an_rng_entry_with_a_huge_dtype_is_refused_without_allocating(tmp_path):
    from hostile import peak_python_bytes

    model, optimizer, _ = build_mlp()
    save_checkpoint(tmp_path / "rng.npz", model, optimizer)
    # "(100,100)f8" makes each of the 2 numbers an 80 kB block; the real attack used (8000,8000): 1.5 GB
    _rewrite(tmp_path / "rng.npz", lambda meta: meta.update(rng={"__ndarray__": [0, 1], "dtype": "(100,100)f8"}))
    error, _ = peak_python_bytes(load_checkpoint, tmp_path / "rng.npz")
    assert isinstance(error, CheckpointError) and "rng.npz" in str(error) and "random state" in str(error)


def test_a_deflated_bomb_member_is_refused(tmp_path):
    model, optimizer, _ = build_mlp()
    save_checkpoint(tmp_path / "bomb.npz", model, optimizer)
    _rewrite(tmp_path / "bomb.npz", compression=True, extra={"optimizer/99": numpy.zeros(6 << 20, numpy.float32)})
    with pytest.raises(CheckpointError, match=r"bomb\.npz: .*over this file's cap"):
        load_checkpoint(tmp_path / "bomb.npz")


def test_a_member_flagged_encrypted_is_a_checkpoint_error_naming_it(tmp_path):
    model, optimizer, _ = build_mlp()
    path = tmp_path / "locked.npz"
    save_checkpoint(path, model, optimizer)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central flag fields
        at = raw.index(signature) + offset
        raw[at] |= 0x01  # bit 0: encrypted (zipfile raised its RuntimeError "password required")
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"locked\.npz: .*encrypted"):
        load_checkpoint(path)


KILLED_SAVE = """
import os, signal, sys
from minitl.models.mlp import MLP
from minitl.train import checkpoint

def killed_mid_write(file, arrays):
    file.write(b"PK" + bytes(1 << 20))  # a megabyte reaches the temporary file, then SIGKILL: no clean-up runs
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

checkpoint._write_members = killed_mid_write
checkpoint.save_checkpoint(sys.argv[1], MLP([8, 3]), epoch=2)
"""


def test_a_save_killed_hard_leaves_no_temporary_file_once_the_checkpoint_is_read(tmp_path):
    path = tmp_path / "run.npz"
    save_checkpoint(path, MLP([8, 3]), epoch=1)
    before = path.read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], cwd=os.getcwd(),
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert killed.returncode == -signal.SIGKILL
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]  # what the killed writer left
    assert load_checkpoint(path).epoch == 1  # the resume after the crash: the old checkpoint, intact ...
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.npz"]  # ... and the killed writer's 1 MB temporary file is gone


DAMAGES = {
    "history not a dict": lambda meta: meta.update(history=7),
    "optimizer a string": lambda meta: meta.update(optimizer="x"),
    "model_keys a number": lambda meta: meta.update(model_keys=3),
    "callbacks a list": lambda meta: meta.update(callbacks=[[1]]),
    "array marker to nowhere": lambda meta: meta.update(optimizer={"__array__": "nope", "kind": "array"}),
    "format_version a string": lambda meta: meta.update(format_version="9"),
    "rng ndarray nested": lambda meta: meta.update(rng={"__ndarray__": [[1]], "dtype": "<u4"}),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_parse_error_is_a_checkpoint_error_naming_the_file(tmp_path, damage):
    model, optimizer, _ = build_mlp()
    save_checkpoint(tmp_path / "run.npz", model, optimizer)
    _rewrite(tmp_path / "run.npz", DAMAGES[damage])
    with pytest.raises(CheckpointError, match=r"run\.npz: "):
        load_checkpoint(tmp_path / "run.npz")


def test_a_string_array_member_is_refused(tmp_path):
    model, optimizer, _ = build_mlp()
    save_checkpoint(tmp_path / "text.npz", model, optimizer)
    _rewrite(tmp_path / "text.npz", extra={"extra/0": numpy.array(["a", "b"])})
    with pytest.raises(CheckpointError, match=r"text\.npz: .*not a numeric"):
        load_checkpoint(tmp_path / "text.npz")


RESUME_DAMAGES = {
    "bad global rng": lambda meta: meta.update(rng={"bit_generator": "PCG64", "state": "x"}),
    "resume point without rng": lambda meta: meta["history"]["resume_point"].pop("rng"),
    "mid-epoch point without rng": lambda meta: (meta["history"]["resume_point"].pop("rng"),
                                                 meta["history"]["resume_point"].update(step_in_epoch=2)),
}


@pytest.mark.parametrize("damage", sorted(RESUME_DAMAGES) + ["callback state without best"])
def test_resume_validates_everything_before_changing_anything(tmp_path, damage):
    from minitl.train import EarlyStopping

    model, optimizer, _ = build_mlp()
    loader = DataLoader(make_data(), batch_size=16, shuffle=True)
    fit(model, optimizer, loader, epochs=1, verbose=False)
    save_checkpoint(tmp_path / "run.npz", model, optimizer, history=None if damage.startswith("bad") else
                    fit(model, optimizer, loader, epochs=1, verbose=False),
                    callbacks=[EarlyStopping(monitor="train_loss")])
    if damage in RESUME_DAMAGES:
        _rewrite(tmp_path / "run.npz", RESUME_DAMAGES[damage])
    else:
        _rewrite(tmp_path / "run.npz", lambda meta: meta["callbacks"]["EarlyStopping/0"].pop("best"))
    fresh, fresh_optimizer, _ = build_mlp(seed=5)
    fresh.hidden[0].unfreeze()
    fresh.head.lr_scale = None
    snapshot, rng_before = _model_snapshot(fresh), minitl.random.get_rng().bit_generator.state
    stopper = EarlyStopping(monitor="train_loss")
    stopper_before = stopper.state_dict()
    with pytest.raises(CheckpointError, match=r"run\.npz: "):
        resume(tmp_path / "run.npz", fresh, fresh_optimizer, loader=loader, callbacks=[stopper])
    _assert_unchanged(fresh, snapshot)
    assert minitl.random.get_rng().bit_generator.state == rng_before
    assert stopper.state_dict() == stopper_before


def test_resume_on_the_device_continues_exactly(tmp_path, device):
    """Optimizer state and weights on the GPU go to the file and back (no dropout: the device stream is not saved)."""
    data, total, stop = make_data(), 8, 5

    def run(steps, resume_from=None):
        model, optimizer, scheduler = build_cnn(seed=1 if resume_from is None else 5)
        model.to(device)
        history = fit(model, optimizer, DataLoader(data, 12, shuffle=True, seed=7, device=device), steps=steps,
                      scheduler=scheduler, verbose=False, resume_from=resume_from)
        return history, model, optimizer, scheduler

    straight = run(total)[0]
    first, model, optimizer, scheduler = run(stop)
    save_checkpoint(tmp_path / "run.npz", model, optimizer, scheduler, history=first)
    resumed, model, optimizer, _ = run(total, resume_from=tmp_path / "run.npz")
    numpy.testing.assert_allclose(resumed.step_losses, straight.step_losses, rtol=1e-6)
    assert {p.device for p in model.parameters()} == {device}
    assert {minitl.backend.device_of(v) for state in optimizer.state_dict()["state"].values()
            for v in state.values() if hasattr(v, "shape")} <= {device}
