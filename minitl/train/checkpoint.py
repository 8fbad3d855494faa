"""Checkpoints: everything a run needs to continue exactly where it stopped, in one ``.npz``.

    save_checkpoint("run.npz", model, optimizer, scheduler, epoch=3, history=history)
    ...                                                    # a crash, a new process, a fresh model
    fit(model, optimizer, loader, epochs=10, scheduler=scheduler, resume_from="run.npz")

The file is a plain ``numpy.savez`` archive, readable with ``numpy.load(path, allow_pickle=False)``:

    model/<name>          every parameter and buffer (``model.state_dict()``), host arrays
    optimizer/<n>         the arrays of ``optimizer.state_dict()`` (momentum, Adam's moments)
    scheduler/<n>         the arrays of ``scheduler.state_dict()``, if it has any
    callbacks/<n>         the arrays of the callbacks' ``state_dict()`` (EarlyStopping's best weights)
    checkpoint.json       UTF-8 JSON as a uint8 array: the epoch, the History, the rest of the
                          optimizer/scheduler/callback state (codec.py), the frozen modules and
                          parameters, the ``lr_scale`` of every module that sets one, the random state

Three things a student should notice:

* **Atomic**: the archive is written to a temporary file in the same folder, flushed to disk, then
  renamed over ``path`` (``minitl.atomic``). A crash mid-write leaves the previous checkpoint
  intact and no half file behind; the temporary file of a writer killed hard is removed by the
  next save or load of ``path``.
* **Frozen and lr_scale are state too**: a resumed run with a block unfrozen that was frozen (or a
  different learning-rate scale) would not be the same run, so both are saved and restored.
* **Callbacks have state too**: EarlyStopping's best value and patience counter, ModelCheckpoint's
  best value. A checkpoint written during ``fit`` (by ModelCheckpoint) stores each callback's
  ``state_dict()`` under a key such as ``"EarlyStopping/0"`` (``callback_keys``), and a resumed
  ``fit`` hands it back to the callback with the same key.
* **The data order is state too**: the global generator (``minitl.random``) and the loader's own
  generator are restored, and a checkpoint taken in the middle of an epoch replays that epoch's
  shuffle and skips the batches already done (``History.resume_point``). So the next step after a
  resume sees the same batch, and gives the same loss, as in an uninterrupted run.

Reading goes through the same bounded reader as weight files (``minitl.io.native.read_npz``: one
byte budget per file, numeric arrays only), and any damage a file can carry -- a size lie, broken
JSON, a random state that does not parse -- becomes one ``CheckpointError`` naming the file.
"""
import json
import os
from collections import OrderedDict

import numpy

from ..atomic import atomic_write, sweep_stale_temporaries
from ..core.random import get_rng
from ..io.errors import WeightFormatError
from ..io.limits import MAX_METADATA_BYTES, is_count
from ..io.native import read_npz
from ..io.state import as_state_dict
from .codec import decode, encode, from_json_safe, to_json_safe
from .errors import CheckpointError
from .history import History

FORMAT = "minitl-checkpoint"
FORMAT_VERSION = 1
META = "checkpoint.json"
REQUIRED = ("epoch", "step", "model_keys")  # the fields of checkpoint.json a Checkpoint cannot do without


class Checkpoint:
    """What ``load_checkpoint`` read; ``resume`` applies it to a model, optimizer, scheduler and loader.

    Fields: ``path``, ``epoch`` (completed epochs), ``step`` (optimizer steps so far), ``history``,
    ``model_state`` (ordered name -> array), ``optimizer_state`` / ``scheduler_state`` (or None),
    ``frozen_modules``, ``frozen_parameters``, ``no_grad_parameters`` (``requires_grad`` off but not
    frozen, PyTorch-style), ``lr_scales``, ``rng`` (global generator state at
    save time), ``callback_states`` (key -> state, see ``callback_keys``), ``extra`` (whatever the
    caller passed), ``meta`` (the raw JSON).
    """

    def __init__(self, path, meta, arrays):
        self.path, self.meta = path, meta
        self.epoch, self.step = meta["epoch"], meta["step"]
        self.history = History.from_dict(meta["history"]) if meta.get("history") else History()
        self.model_state = OrderedDict((name[len("model/"):], arrays[name]) for name in meta["model_keys"])
        self.optimizer_state = decode(meta["optimizer"], arrays) if meta.get("optimizer") is not None else None
        self.scheduler_state = decode(meta["scheduler"], arrays) if meta.get("scheduler") is not None else None
        self.frozen_modules = list(meta.get("frozen_modules", []))
        self.frozen_parameters = list(meta.get("frozen_parameters", []))
        self.no_grad_parameters = list(meta.get("no_grad_parameters", []))
        self.lr_scales = dict(meta.get("lr_scales", {}))
        self.rng = from_json_safe(meta.get("rng"))
        self.callback_states = decode(meta.get("callbacks") or {}, arrays)
        self.extra = meta.get("extra")
        self.skip_batches = 0  # set by resume(): batches of a half-done epoch that fit() must skip
        for name in ("optimizer_state", "scheduler_state", "callback_states", "lr_scales"):
            if not isinstance(getattr(self, name), (dict, type(None))):
                raise CheckpointError(path, f"{META} is damaged: {name} is a {type(getattr(self, name)).__name__}, "
                                            "not a dict")

    @property
    def resume_point(self):
        """The History's bookmark when it belongs to this checkpoint's epoch, else None."""
        point = self.history.resume_point
        return point if point and point.get("epoch") == self.epoch else None

    def restore_callbacks(self, callbacks) -> list:
        """Give each callback the state saved under its key; return the keys restored, in order.

        Matching is by key only, and a mismatch is not an error: a callback added since the save
        (no saved state) keeps its own state, and a saved state whose callback is gone is ignored.
        """
        restored = []
        for key, callback in callback_keys(callbacks):
            if key in self.callback_states:
                callback.load_state_dict(self.callback_states[key])
                restored.append(key)
        return restored

    def __repr__(self):
        return (f"Checkpoint({self.path!r}, epoch={self.epoch}, step={self.step}, "
                f"frozen_modules={self.frozen_modules}, lr_scales={self.lr_scales})")


# ----- the three parts of state that are not arrays -----

def loader_generator(loader):
    """The loader's own ``numpy.random.Generator`` (``DataLoader(seed=...)``), or None if it uses the global one."""
    for name in ("generator",):
        generator = getattr(loader, name, None)
        if isinstance(generator, numpy.random.Generator):
            return generator
    return None


def capture_rng(loader=None) -> dict:
    """The states of the global generator and of ``loader``'s own one, as JSON-safe dicts."""
    generator = loader_generator(loader) if loader is not None else None
    return {"global": to_json_safe(get_rng().bit_generator.state),
            "loader": to_json_safe(generator.bit_generator.state) if generator is not None else None}


def restore_rng(state, loader=None) -> None:
    """Put back what ``capture_rng`` took (each part only where it was captured)."""
    if state.get("global") is not None:
        get_rng().bit_generator.state = from_json_safe(state["global"])
    generator = loader_generator(loader) if loader is not None else None
    if generator is not None and state.get("loader") is not None:
        generator.bit_generator.state = from_json_safe(state["loader"])


def frozen_modules(model):
    """Dotted names of the outermost frozen modules ("" is the whole model), in model order."""
    names = []
    for name, module in model.named_modules():
        inside_frozen = any(name == n or n == "" or name.startswith(n + ".") for n in names)
        if not inside_frozen and module.frozen:
            names.append(name)
    return names


def apply_frozen_and_scales(model, modules, parameters, scales, path=None, no_grad=()) -> None:
    """Make the model's frozen set, lr_scales and ``requires_grad`` exactly those saved (everything else
    unfrozen, unscaled, requiring grad). ``no_grad``: parameters switched off without being frozen."""
    by_name = dict(model.named_modules())
    unknown = [n for n in list(modules) + list(scales) if n not in by_name]
    unknown += [n for n in list(parameters) + list(no_grad) if n not in dict(model.named_parameters())]
    if unknown:
        raise CheckpointError(path, f"the model has no module or parameter named {unknown[:5]}; was the "
                                    "checkpoint written by another architecture?")
    model.unfreeze()
    for name in modules:
        by_name[name].frozen = True
    frozen, no_grad = set(parameters), set(no_grad)
    for name, parameter in model.named_parameters():
        parameter.frozen = name in frozen
        if name in no_grad:
            parameter.requires_grad = False
    for module in model.modules():
        module.lr_scale = None
    for name, scale in scales.items():
        by_name[name].lr_scale = scale


def callback_keys(callbacks) -> list:
    """``[(key, callback)]`` with key = class name / index among the callbacks of that class.

    ``[EarlyStopping(), ModelCheckpoint(a), ModelCheckpoint(b)]`` gives ``"EarlyStopping/0"``,
    ``"ModelCheckpoint/0"``, ``"ModelCheckpoint/1"``: two checkpointers keep separate bests, and
    adding a callback of another class does not shift the keys of the rest.
    """
    seen, keyed = {}, []
    for callback in callbacks:
        name = type(callback).__name__
        keyed.append((f"{name}/{seen.get(name, 0)}", callback))
        seen[name] = seen.get(name, 0) + 1
    return keyed


# ----- writing -----

def _write_members(file, arrays) -> None:
    """Write the archive into the open temporary file (the one step a crash test interrupts)."""
    numpy.savez(file, **arrays)


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=None, history=None, extra=None,
                    callbacks=()) -> None:
    """Write model, optimizer, scheduler, epoch, history, frozen set, lr_scales and RNG state to ``path``.

    ``epoch``: the number of completed epochs (default: the history's). ``extra``: any JSON-able
    dict of your own. ``callbacks``: the run's callbacks (``loop.callbacks``), whose ``state_dict()``
    is stored by ``callback_keys``. The write is atomic: ``path`` is either the old file or the
    complete new one.
    """
    history = history if history is not None else History()
    if epoch is None:
        epoch = history.completed_epochs
    arrays = OrderedDict(("model/" + name, array) for name, array in as_state_dict(model).items())
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model_class": type(model).__name__,
        "model_keys": list(arrays), "epoch": int(epoch), "step": history.total_steps,
        "history": history.to_dict(),
        "optimizer": encode(optimizer.state_dict(), "optimizer", arrays) if optimizer is not None else None,
        "scheduler": encode(scheduler.state_dict(), "scheduler", arrays) if scheduler is not None else None,
        "frozen_modules": frozen_modules(model),
        "frozen_parameters": [name for name, p in model.named_parameters() if p.frozen],
        "no_grad_parameters": [name for name, p in model.named_parameters() if not p.frozen and not p.requires_grad],
        "lr_scales": {name: m.lr_scale for name, m in model.named_modules() if m.lr_scale is not None},
        "rng": to_json_safe(get_rng().bit_generator.state),
        "callbacks": encode({key: c.state_dict() for key, c in callback_keys(callbacks)}, "callbacks", arrays),
        "extra": extra,
    }
    try:
        text = json.dumps(meta)
    except TypeError as exc:
        raise CheckpointError(path, f"cannot store the checkpoint's metadata as JSON ({exc}); "
                                    "extra= must hold numbers, strings, lists and dicts only") from None
    arrays[META] = numpy.frombuffer(text.encode("utf-8"), dtype=numpy.uint8)
    with atomic_write(path) as file:
        _write_members(file, arrays)


# ----- reading -----

def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint without applying it. Never unpickles; every defect raises ``CheckpointError``.

    Reading after a crash is the moment to clean up: the temporary file of a save that was killed
    hard (SIGKILL, a power cut) is removed here, as the next save would do.
    """
    path = os.fspath(path)
    sweep_stale_temporaries(path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such checkpoint file")
    try:
        arrays, _, _ = read_npz(path)
    except WeightFormatError as exc:
        # BadZipFile: a truncated copy or a half-downloaded file; the atomic save never leaves one.
        raise CheckpointError(path, f"not a readable checkpoint ({exc.problem})") from None
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read ({exc})") from None
    text = arrays.pop(META, None)
    if text is None:
        raise CheckpointError(path, f"no {META} inside: this .npz is not a minitl checkpoint "
                                    "(weights alone load with minitl.load / model.load_state_dict)")
    if text.dtype != numpy.uint8 or text.ndim != 1 or text.nbytes > MAX_METADATA_BYTES:
        raise CheckpointError(path, f"{META} is not UTF-8 text of at most {MAX_METADATA_BYTES} bytes")
    try:
        meta = json.loads(text.tobytes().decode("utf-8"))
        _check_meta(path, meta, arrays)
        return Checkpoint(path, meta, arrays)
    except CheckpointError as exc:
        if exc.path is None:
            raise CheckpointError(path, str(exc)) from None
        raise
    except Exception as exc:  # noqa: BLE001 - any defect of an untrusted file is one CheckpointError
        raise CheckpointError(path, f"{META} is damaged ({type(exc).__name__}: {exc})"[:2000]) from None


def _check_meta(path, meta, arrays) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(path, f"format is {found!r}, expected {FORMAT!r}")
    if not isinstance(meta.get("format_version", 0), int) or meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(path, f"written by a newer minitl (format version {meta['format_version']}); "
                                    "upgrade minitl to read it")
    missing = [field for field in REQUIRED if field not in meta]
    keys = meta.get("model_keys", [])
    if not isinstance(keys, list) or not all(isinstance(name, str) for name in keys):
        raise CheckpointError(path, f"{META} is damaged: model_keys is not a list of names")
    lost = [name for name in keys if name not in arrays]
    if missing or lost:
        raise CheckpointError(path, f"{META} is damaged: missing field(s) {missing + lost}")


def resume(checkpoint, model, optimizer=None, scheduler=None, loader=None, callbacks=()) -> Checkpoint:
    """Load ``checkpoint`` (a path or a ``Checkpoint``) into everything given; return the Checkpoint.

    Restores, in order: the model's arrays (strict: every key must match), its frozen set and
    lr_scales, the optimizer and scheduler state, the random state (global, and ``loader``'s
    own generator) and the state of ``callbacks`` (``Checkpoint.restore_callbacks``). Pass the
    result to ``fit(..., resume_from=...)`` (or pass the path there and let fit call this): it
    continues at ``checkpoint.epoch`` with the same history, and restores the state of its own
    callbacks again after ``on_train_begin`` (the hook where a callback starts fresh).

    All or nothing: if any part does not fit, the model (arrays, frozen set, lr_scales), the
    optimizer and the scheduler are put back as they were, and a ``CheckpointError`` names the file.
    An optimizer built from the trainable parameters only (``Adam([p for p in model.parameters()
    if p.requires_grad])``) while the saved run's groups grew as blocks unfroze is ``sync``-ed to
    the restored frozen set first, so that recipe resumes.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    rng_state = _checked_rng_plan(ckpt, loader)  # validated before anything changes
    undo = _snapshot(model, optimizer, scheduler)
    undo["rng"], undo["callbacks"] = capture_rng(loader), [(c, c.state_dict()) for _, c in callback_keys(callbacks)]
    try:
        _apply(ckpt, model, optimizer, scheduler)
        restore_rng(rng_state, loader)
        try:
            ckpt.restore_callbacks(callbacks)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise CheckpointError(ckpt.path, f"a callback's saved state does not fit it ({type(exc).__name__}: "
                                             f"{exc}); pass the callbacks the saved run had") from exc
    except BaseException:
        _rollback(undo, model, optimizer, scheduler)
        restore_rng(undo["rng"], loader)
        for callback, state in undo["callbacks"]:
            callback.load_state_dict(state)
        raise
    return ckpt


RESUME_FIELDS = {"loss_sum", "correct", "samples", "seconds", "skipped", "classified"}  # loop.RunningMeans


def _checked_rng_plan(ckpt, loader) -> dict:
    """The random state ``resume`` will restore, after checking every part of it parses.

    Half an epoch done: rewind to the epoch's start so fit() redraws the same shuffle, skips
    ``skip_batches`` batches, and then restores ``ckpt.rng`` (the state at save time).
    """
    point = ckpt.resume_point
    if point is not None and not (isinstance(point.get("rng"), dict) and "global" in point["rng"]):
        raise CheckpointError(ckpt.path, "its resume point has no random state ('rng'); the file is damaged")
    mid_epoch = point is not None and point.get("step_in_epoch", 0) > 0
    if mid_epoch:
        accumulated = point.get("accumulated")
        if not (is_count(point["step_in_epoch"]) and isinstance(accumulated, dict)
                and set(accumulated) <= RESUME_FIELDS):
            raise CheckpointError(ckpt.path, "its mid-epoch resume point is damaged (step_in_epoch/accumulated)")
        plan = point["rng"]
    else:
        plan = {"global": ckpt.meta.get("rng"), "loader": point["rng"].get("loader") if point else None}
    generator = loader_generator(loader) if loader is not None else None
    targets = [("global", get_rng(), plan.get("global")), ("global", get_rng(), ckpt.meta.get("rng")),
               ("loader", generator, plan.get("loader"))]
    for name, owner, state in targets:
        if owner is None or state is None:
            continue
        try:
            type(owner.bit_generator)().state = from_json_safe(state)  # a throwaway generator: nothing changes
        except (TypeError, ValueError, KeyError, OverflowError, CheckpointError) as exc:
            raise CheckpointError(ckpt.path, f"its {name} random state does not parse ({exc})"[:1000]) from None
    ckpt.skip_batches = point["step_in_epoch"] if mid_epoch else 0
    return plan


def _apply(ckpt, model, optimizer, scheduler) -> None:
    """The part of ``resume`` that changes the model, optimizer and scheduler (undone if it fails)."""
    try:
        model.load_state_dict(ckpt.model_state, strict=True)
    except Exception as exc:
        raise CheckpointError(ckpt.path, f"does not fit {type(model).__name__}: {exc}") from exc
    apply_frozen_and_scales(model, ckpt.frozen_modules, ckpt.frozen_parameters, ckpt.lr_scales, ckpt.path,
                            no_grad=ckpt.no_grad_parameters)
    if optimizer is not None and ckpt.optimizer_state is not None and callable(getattr(optimizer, "sync", None)):
        saved_sizes = [len(group["params"]) for group in ckpt.optimizer_state.get("param_groups", [])]
        if saved_sizes != [len(group["params"]) for group in optimizer.param_groups]:
            optimizer.sync(model)  # what GradualUnfreezing did during the saved run, all at once
    for name, target, state in (("optimizer", optimizer, ckpt.optimizer_state),
                                ("scheduler", scheduler, ckpt.scheduler_state)):
        if target is None:
            continue
        if state is None:
            raise CheckpointError(ckpt.path, f"holds no {name} state, but a {name} was given to resume(); "
                                             f"pass {name}=None to start it fresh")
        try:
            target.load_state_dict(state)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(ckpt.path, f"its {name} state does not fit {type(target).__name__}: {exc}; "
                                             f"build the {name} the way the saved run did") from exc


def _snapshot(model, optimizer, scheduler):
    """Everything ``_apply`` may change, copied, so a failed resume can put it back."""
    modules = [(m, m.__dict__.get("_frozen"), m.lr_scale) for m in model.modules()]
    params = [(p, p.frozen, p.requires_grad) for p in model.parameters()]
    arrays = OrderedDict((name, array.copy()) for name, array in model.state_dict().items())
    groups = [dict(group, params=list(group["params"])) for group in optimizer.param_groups] if optimizer else None
    return {"modules": modules, "params": params, "arrays": arrays, "groups": groups,
            "optimizer_state": dict(optimizer.state) if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None}


def _rollback(undo, model, optimizer, scheduler) -> None:
    model.load_state_dict(undo["arrays"], strict=True)
    for module, frozen, lr_scale in undo["modules"]:
        module.lr_scale = lr_scale
        if frozen is not None:
            object.__setattr__(module, "_frozen", frozen)
    for p, frozen, requires_grad in undo["params"]:
        p.frozen = frozen
        p.requires_grad = requires_grad
    if optimizer is not None:
        optimizer.param_groups[:] = undo["groups"]
        optimizer.state = undo["optimizer_state"]
    if scheduler is not None:
        scheduler.load_state_dict(undo["scheduler"])
