"""``minitl.train``: the training loop, its record, its progress bar, its callbacks and checkpoints.

    from minitl.train import fit, evaluate, GradualUnfreezing, ModelCheckpoint

    model.freeze_to(-1)                                    # train the head first
    history = fit(model, optimizer, train_loader, epochs=5, val_loader=val_loader,
                  callbacks=[GradualUnfreezing(every=1), ModelCheckpoint("run.npz")])
    evaluate(model, test_loader)                           # {"loss": ..., "accuracy": ..., "samples": ...}

    loop.py         fit, evaluate, TrainingLoop (the state callbacks see)
    history.py      History: per-step and per-epoch metrics, JSON round trip
    progress.py     the progress line (tqdm when installed, a plain bar otherwise)
    callbacks.py    Callback, GradualUnfreezing, EarlyStopping, ModelCheckpoint
    checkpoint.py   save_checkpoint, load_checkpoint, resume (atomic .npz, frozen set, lr_scales, RNG)
    codec.py        nested state dicts <-> JSON + arrays (no pickle)
    errors.py       TrainingDivergedError, CheckpointError
"""
from .callbacks import Callback, EarlyStopping, GradualUnfreezing, ModelCheckpoint
from .checkpoint import Checkpoint, load_checkpoint, resume, save_checkpoint
from .errors import CheckpointError, TrainingDivergedError
from .history import History
from .loop import TrainingLoop, evaluate, fit

__all__ = ["Callback", "Checkpoint", "CheckpointError", "EarlyStopping", "GradualUnfreezing", "History",
           "ModelCheckpoint", "TrainingDivergedError", "TrainingLoop", "evaluate", "fit", "load_checkpoint",
           "resume", "save_checkpoint"]
