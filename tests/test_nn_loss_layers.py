"""Loss modules (nn.CrossEntropyLoss, ...): same values as the functional losses and as PyTorch's modules."""
import numpy
import pytest

import minitl
from minitl import nn
from parity import assert_matches_torch, torch_or_skip

WEIGHT = numpy.array([0.5, 2.0, 1.0], dtype=numpy.float32)


def _cases(torch):
    """(ours, theirs, input maker, target maker): every loss module with a non-default argument."""
    tw = torch.tensor(WEIGHT)
    labels = numpy.array([0, 2, 1, 2])
    return {
        "cross_entropy": (nn.CrossEntropyLoss(weight=minitl.tensor(WEIGHT), label_smoothing=0.1),
                          torch.nn.CrossEntropyLoss(weight=tw, label_smoothing=0.1), "scores", labels),
        "cross_entropy_sum": (nn.CrossEntropyLoss(reduction="sum", ignore_index=1),
                              torch.nn.CrossEntropyLoss(reduction="sum", ignore_index=1), "scores", labels),
        "nll": (nn.NLLLoss(weight=minitl.tensor(WEIGHT)), torch.nn.NLLLoss(weight=tw), "log_probs", labels),
        "mse": (nn.MSELoss(reduction="none"), torch.nn.MSELoss(reduction="none"), "scores", "real"),
        "l1": (nn.L1Loss(), torch.nn.L1Loss(), "scores", "real"),
        "smooth_l1": (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), "scores", "real"),
        "bce": (nn.BCELoss(reduction="sum"), torch.nn.BCELoss(reduction="sum"), "probs", "unit"),
        "bce_logits": (nn.BCEWithLogitsLoss(pos_weight=minitl.tensor(WEIGHT)),
                       torch.nn.BCEWithLogitsLoss(pos_weight=tw), "scores", "unit"),
        "kl": (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"), "log_probs",
               "probs"),
        "legacy_flags": (nn.MSELoss(size_average=False), torch.nn.MSELoss(reduction="sum"), "scores", "real"),
    }


def _array(kind, rng):
    if not isinstance(kind, str):
        return kind
    x = rng.standard_normal((4, 3)).astype(numpy.float32)
    return {"scores": x, "real": x + rng.standard_normal(x.shape).astype(numpy.float32),
            "log_probs": x - numpy.log(numpy.exp(x).sum(1, keepdims=True)),
            "probs": numpy.exp(x) / numpy.exp(x).sum(1, keepdims=True),
            "unit": rng.uniform(0, 1, x.shape).astype(numpy.float32)}[kind]


@pytest.mark.parametrize("name", ["cross_entropy", "cross_entropy_sum", "nll", "mse", "l1", "smooth_l1", "bce",
                                  "bce_logits", "kl", "legacy_flags"])
def test_loss_module_matches_torch_module(name, device, rng):
    torch = torch_or_skip()
    ours, theirs, input_kind, target_kind = _cases(torch)[name]
    ours.to(device)
    x, target = _array(input_kind, rng), _array(target_kind, rng)
    if target.dtype.kind == "i":
        assert_matches_torch(lambda x: ours(x, target), lambda x: theirs(x, torch.tensor(target)), [x], device)
    else:
        assert_matches_torch(ours, theirs, [x, target], device)


def test_loss_module_weight_is_a_buffer_that_moves_and_saves():
    criterion = nn.CrossEntropyLoss(weight=minitl.tensor(WEIGHT))
    assert list(criterion.state_dict()) == ["weight"]  # as PyTorch's state_dict of the same module
    assert "reduction='mean'" in repr(criterion)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.L1Loss(reduction="avg")(minitl.tensor([1.0]), minitl.tensor([0.0]))
