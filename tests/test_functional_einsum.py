"""einsum: the two-operand contractions (and a few one- and three-operand forms), float64 gradcheck
and PyTorch parity of values and gradients (float32)."""
import numpy
import pytest

import minitl
from parity import assert_matches_torch, t64, torch_or_skip

# (equation, operand shapes)
EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),           # matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),  # batched matmul
    ("bn,cn->bc", [(3, 5), (4, 5)]),           # every row against every class
    ("i,i->", [(5,), (5,)]),                   # dot product
    ("i,j->ij", [(3,), (4,)]),                 # outer product
    ("ij,ij->i", [(3, 4), (3, 4)]),            # row-wise dot
    ("ij,j->i", [(3, 4), (4,)]),               # matrix-vector
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij,kl->ijkl", [(2, 3), (2, 2)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),        # a letter kept from the first operand only
    ("ij,jk", [(2, 3), (3, 4)]),               # implicit output: ik
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),  # ellipsis with broadcasting
    ("ij->ji", [(3, 4)]),                      # transpose
    ("ij->i", [(3, 4)]),                       # row sums: j only in the operand
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),  # a chain of three
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_gradcheck(equation, shapes, rng, device):
    inputs = [t64(rng.standard_normal(s), device) for s in shapes]
    assert minitl.gradcheck(lambda *a: minitl.einsum(equation, *a), inputs)


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_matches_torch(equation, shapes, rng, device):
    torch = torch_or_skip()
    assert_matches_torch(lambda *a: minitl.einsum(equation, *a), lambda *a: torch.einsum(equation, *a),
                         [rng.standard_normal(s) for s in shapes], device)


def test_operands_as_a_list_and_clear_errors():
    a, b = minitl.ones(2, 3), minitl.ones(3, 4)
    numpy.testing.assert_array_equal(minitl.einsum("ij,jk->ik", [a, b]).numpy(), numpy.full((2, 4), 3.0))
    with pytest.raises(ValueError, match="2 operands"):
        minitl.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="diagonal"):
        minitl.einsum("ii->i", minitl.ones(3, 3))
    with pytest.raises(ValueError, match="name 3 axes"):
        minitl.einsum("ijk,jk->i", a, b)
