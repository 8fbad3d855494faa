"""cross_entropy / nll_loss: swapped arguments and float class labels get a message saying what to write."""
import numpy
import pytest

import minitl
from minitl.nn import CrossEntropyLoss
from minitl.nn import functional as F

LOGITS = minitl.tensor(numpy.random.default_rng(0).standard_normal((4, 3)))
LABELS = minitl.tensor(numpy.array([0, 2, 1, 2]))


def test_swapped_arguments_say_swapped():
    with pytest.raises(TypeError, match=r"cross_entropy: the arguments look swapped.*write cross_entropy\(logits, "
                                        r"labels\)"):
        F.cross_entropy(LABELS, LOGITS)
    with pytest.raises(TypeError, match="nll_loss: the arguments look swapped"):
        F.nll_loss(LABELS, LOGITS.log_softmax(1))
    with pytest.raises(TypeError, match="the arguments look swapped"):
        CrossEntropyLoss()(LABELS, LOGITS)


def test_float_class_labels_say_use_long():
    with pytest.raises(TypeError, match=r"target holds float class labels \(float32, shape \(4,\)\).*target.long\(\)"):
        F.cross_entropy(LOGITS, LABELS.float())
    with pytest.raises(TypeError, match="float class labels"):
        F.cross_entropy(LOGITS, [0.0, 2.0, 1.0, 2.0])


def test_valid_targets_still_work():
    assert F.cross_entropy(LOGITS, LABELS).shape == ()
    probabilities = minitl.tensor(numpy.full((4, 3), 1 / 3))
    assert F.cross_entropy(LOGITS, probabilities).shape == ()  # float (N, C): probabilities, fine
    assert F.cross_entropy(LOGITS, [0, 2, 1, 2]).shape == ()
