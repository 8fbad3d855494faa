"""What a classification loss is given: probabilities where it expects logits.

``cross_entropy(softmax(logits), y)`` runs and trains, badly: cross entropy applies ``log_softmax``
itself, so a softmax before it squeezes every score into [0, 1] and the gradients almost vanish.
PyTorch is silent; minitl warns once per process, when every row of a batch lies in [0, 1] and sums
to 1 (within float32 round-off). It plugs into the ``class_scores`` seam (``core/seams.py``).

The cost: ``cross_entropy`` calls it only for scores that a recorded softmax made or that no
recorded op made (a training step's logits come from a Linear: no call, nothing looked at). Then,
until it has warned, one row is looked at first (logits almost never pass), the whole batch only when
that row passes. On the GPU it looks at nothing: reading a row back would make the host wait on the
device at every step.
"""
import warnings

import numpy

from ..core import seams
from ..core.tensor import data_of

_warned = {"probabilities": False}


def _rows_are_probabilities(scores):
    """True when every slice along axis 1 lies in [0, 1] and sums to 1 within float32 round-off."""
    return bool(scores.min() >= 0 and scores.max() <= 1
                and numpy.allclose(scores.sum(axis=1, dtype=numpy.float64), 1.0, rtol=0, atol=1e-4))


def warn_on_probabilities(name, scores):
    """Warn once when ``scores`` (N, C, ...) look like softmax outputs rather than logits."""
    if _warned["probabilities"]:
        return
    data = data_of(scores)
    if type(data) is not numpy.ndarray or data.dtype.kind != "f" or data.ndim < 2 or data.shape[1] < 2 \
            or data.shape[0] == 0:
        return
    if not (_rows_are_probabilities(data[:1]) and _rows_are_probabilities(data)):
        return
    _warned["probabilities"] = True
    warnings.warn(f"{name}() got rows that are probabilities (all in [0, 1], each summing to 1): did you apply "
                  f"softmax first? {name} applies log_softmax itself, so pass the logits: "
                  f"{name}(logits, target), not {name}(softmax(logits), target); the extra softmax makes the "
                  "gradients vanish. (To train on log-probabilities, use nll_loss(log_softmax(logits), target).)",
                  UserWarning, stacklevel=3)


seams.plug("class_scores", warn_on_probabilities)  # cross_entropy calls it before its log_softmax
