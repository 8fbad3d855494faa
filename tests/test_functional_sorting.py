"""sort, argsort, topk: values with gradients (float64 gradcheck, PyTorch parity in float32) and
int64 indices equal to PyTorch's on distinct values; ties keep their order."""
import numpy
import pytest

import minitl
from parity import assert_matches_torch, t64, torch_or_skip

OPS = [
    ("sort", lambda x: x.sort().values, lambda t: t.sort().values),
    ("sort_dim0_desc", lambda x: minitl.sort(x, 0, descending=True).values,
     lambda t: t.sort(0, descending=True).values),
    ("topk", lambda x: x.topk(2).values, lambda t: t.topk(2).values),
    ("topk_smallest_dim0", lambda x: minitl.topk(x, 2, dim=0, largest=False).values,
     lambda t: t.topk(2, dim=0, largest=False).values),
]


def _distinct(rng, shape):
    """Values with no ties (gradients and indices of a sort are only defined without them)."""
    return rng.permutation(numpy.prod(shape)).reshape(shape) / 7.0 - 1.0


@pytest.mark.parametrize("name, op, torch_op", OPS, ids=[o[0] for o in OPS])
def test_gradcheck(name, op, torch_op, rng, device):
    assert minitl.gradcheck(op, [t64(_distinct(rng, (3, 5)), device)])


@pytest.mark.parametrize("name, op, torch_op", OPS, ids=[o[0] for o in OPS])
def test_matches_torch(name, op, torch_op, rng, device):
    assert_matches_torch(op, torch_op, [_distinct(rng, (3, 5))], device)


@pytest.mark.parametrize("descending", [False, True])
def test_indices_match_torch(descending, rng, device):
    torch = torch_or_skip()
    data = _distinct(rng, (3, 5)).astype(numpy.float32)
    ours, theirs = minitl.tensor(data, device=device), torch.from_numpy(data)
    numpy.testing.assert_array_equal(ours.sort(1, descending=descending).indices.numpy(),
                                     theirs.sort(1, descending=descending).indices.numpy())
    numpy.testing.assert_array_equal(ours.argsort(0, descending=descending).numpy(),
                                     theirs.argsort(0, descending=descending).numpy())
    numpy.testing.assert_array_equal(ours.topk(3, largest=not descending).indices.numpy(),
                                     theirs.topk(3, largest=not descending).indices.numpy())


def test_ties_keep_their_order_like_torch_stable_sort():
    torch = torch_or_skip()
    data = numpy.array([2.0, 1.0, 2.0, 1.0, 3.0], dtype=numpy.float32)
    for descending in (False, True):
        ours = minitl.tensor(data).sort(descending=descending).indices.numpy()
        theirs = torch.from_numpy(data).sort(descending=descending, stable=True).indices.numpy()
        numpy.testing.assert_array_equal(ours, theirs)


def test_top5_classes_and_bad_k():
    logits = minitl.tensor([[0.1, 0.5, 0.2, 0.9, 0.0, 0.3]])
    assert logits.topk(3).indices.tolist() == [[3, 1, 5]]
    with pytest.raises(ValueError, match="k=7"):
        logits.topk(7)
    with pytest.raises(IndexError, match="Dimension out of range"):
        logits.sort(2)
