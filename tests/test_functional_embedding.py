"""Embedding lookup and nn.Embedding: gradcheck, PyTorch parity (padding_idx too), bad indices."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.functional.embedding import embedding
from parity import assert_matches_torch, t64, torch_or_skip

INDICES = numpy.array([[0, 2, 2], [4, 0, 1]])  # a repeated id: its gradients must add up


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_gradcheck_and_matches_torch(padding_idx, device, rng):
    torch = torch_or_skip()
    weight = rng.standard_normal((5, 3))
    if padding_idx is None:  # the padding row's gradient is zero by design, so finite differences disagree there
        assert minitl.gradcheck(lambda w: embedding(INDICES, w), [t64(weight, device)])
    assert_matches_torch(lambda w: embedding(INDICES, w, padding_idx=padding_idx),
                         lambda w: torch.nn.functional.embedding(torch.tensor(INDICES), w, padding_idx=padding_idx),
                         [weight], device)


def test_embedding_layer_init_padding_row_and_from_pretrained(device):
    torch = torch_or_skip()
    layer = nn.Embedding(10, 4, padding_idx=0)
    assert layer.weight.shape == (10, 4) and not layer.weight.numpy()[0].any()
    assert abs(layer.weight.numpy()[1:].std() - 1) < 0.5  # N(0, 1), as PyTorch
    table = numpy.arange(12.0).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(minitl.tensor(table))
    assert frozen.frozen and not frozen.weight.requires_grad
    out = frozen.to(device)(minitl.tensor(numpy.array([3, 1]), device=device))
    expected = torch.nn.Embedding.from_pretrained(torch.tensor(table))(torch.tensor([3, 1]))
    numpy.testing.assert_allclose(out.numpy(), expected.numpy())


def test_embedding_errors_name_the_index_and_the_table():
    layer = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"index 7 is out of range for a table of 5 rows \(0..4\)"):
        layer(minitl.tensor(numpy.array([1, 7])))
    with pytest.raises(TypeError, match=r"indices must be integers.*\.long\(\)"):
        layer(minitl.tensor([1.0, 2.0]))
