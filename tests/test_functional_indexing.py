"""gather, scatter, scatter_add, index_select, masked_fill, one_hot: float64 gradcheck (repeated
indices included) and PyTorch parity of values and gradients (float32)."""
import numpy
import pytest

import minitl
from minitl.nn import functional as F
from parity import assert_matches_torch, t64, torch_or_skip

GATHER_INDEX = numpy.array([[0, 0, 3], [2, 1, 1]])  # repeats: gradients must add up
SCATTER_INDEX = numpy.array([[0, 2], [3, 1]])  # no repeats within a row: overwrite is well defined
ADD_INDEX = numpy.array([[0, 0, 2], [1, 3, 3]])
MASK = numpy.array([[True, False, False, True], [False, True, False, False]])


def _ops(torch=None):
    """(name, op(x, src) for minitl or torch, shapes). Index tensors are made on the CPU: the ops move
    them to the input's device, so the same table runs on the GPU."""
    def idx(a):
        return torch.from_numpy(a) if torch else minitl.tensor(a)
    return [
        ("gather_dim1", lambda x: x.gather(1, idx(GATHER_INDEX)), [(2, 4)]),
        ("gather_dim0", lambda x: x.gather(0, idx(GATHER_INDEX.T[:2, :2] % 2)), [(2, 4)]),
        ("gather_neg_dim", lambda x: x.gather(-1, idx(GATHER_INDEX)), [(2, 4)]),
        ("scatter_src", lambda x, s: x.scatter(1, idx(SCATTER_INDEX), s), [(2, 4), (2, 2)]),
        ("scatter_value", lambda x: x.scatter(1, idx(SCATTER_INDEX), 0.5), [(2, 4)]),
        ("scatter_add", lambda x, s: x.scatter_add(1, idx(ADD_INDEX), s), [(2, 4), (2, 3)]),
        ("scatter_add_dim0", lambda x, s: x.scatter_add(0, idx(ADD_INDEX % 2), s), [(2, 4), (2, 3)]),
        ("index_select", lambda x: x.index_select(1, idx(numpy.array([3, 0, 3]))), [(2, 4)]),
        ("index_select_dim0", lambda x: x.index_select(0, idx(numpy.array([1, 1, 0]))), [(2, 4)]),
        ("masked_fill", lambda x: x.masked_fill(idx(MASK), -2.0), [(2, 4)]),
        ("masked_fill_broadcast", lambda x: x.masked_fill(idx(MASK[:1]), 3.0), [(2, 4)]),
    ]


NAMES = [o[0] for o in _ops()]


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name, rng, device):
    _, op, shapes = dict((o[0], o) for o in _ops())[name]
    inputs = [t64(rng.standard_normal(s), device) for s in shapes]
    assert minitl.gradcheck(op, inputs)


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch(name, rng, device):
    torch = torch_or_skip()
    _, op, shapes = dict((o[0], o) for o in _ops())[name]
    _, torch_op, _ = dict((o[0], o) for o in _ops(torch))[name]
    assert_matches_torch(op, torch_op, [rng.standard_normal(s) for s in shapes], device)


def test_scatter_src_larger_than_index_uses_its_leading_block(rng, device):
    torch = torch_or_skip()  # PyTorch computes these values but cannot backward them: gradcheck the gradient
    index, x, src = numpy.array([[1], [0]]), rng.standard_normal((2, 3)), rng.standard_normal((3, 4))

    def op(a, s):
        return a.scatter(1, minitl.tensor(index), s)  # index built on the CPU: moved to x's device
    expected = torch.from_numpy(x).scatter(1, torch.from_numpy(index), torch.from_numpy(src))
    numpy.testing.assert_allclose(op(t64(x, device), t64(src, device)).numpy(), expected.numpy())
    assert minitl.gradcheck(op, [t64(x, device), t64(src, device)])


def test_one_hot_matches_torch():
    torch = torch_or_skip()
    labels = numpy.array([[0, 2], [1, 2]])
    for k in (-1, 5):
        ours, theirs = F.one_hot(minitl.tensor(labels), k), torch.nn.functional.one_hot(torch.from_numpy(labels), k)
        assert ours.dtype == numpy.int64
        numpy.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_bad_indices_get_clear_errors():
    x = minitl.zeros(2, 4)
    with pytest.raises(TypeError, match="integer tensor"):
        x.gather(1, minitl.tensor([[0.0]]))
    with pytest.raises(ValueError, match="unsqueeze"):
        x.gather(1, minitl.tensor([0, 1]))
    with pytest.raises(TypeError, match="bool"):
        x.masked_fill(minitl.tensor([[1, 0, 0, 1]]), 0.0)
    with pytest.raises(ValueError, match="0..2"):
        F.one_hot(minitl.tensor([0, 3]), 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.index_select(2, minitl.tensor([0]))


def test_gather_picks_each_rows_class():
    logp = minitl.tensor([[-0.1, -2.0, -3.0], [-1.5, -0.2, -4.0]])
    picked = logp.gather(1, minitl.tensor([0, 1]).unsqueeze(1))
    numpy.testing.assert_allclose(picked.numpy(), [[-0.1], [-0.2]])


@pytest.mark.parametrize("op", ["scatter", "scatter_add"])
def test_scatter_refuses_a_src_of_another_dtype_as_torch(op):
    """PyTorch raises "Expected self.dtype to be equal to src.dtype"; minitl used to cast src silently."""
    x, index = minitl.zeros(2, 4), minitl.tensor(SCATTER_INDEX)
    for src in (minitl.tensor([[1, 2], [3, 4]]), minitl.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64")):
        with pytest.raises(TypeError, match=rf"{op}: src has dtype {src.dtype} but the input has float32"):
            getattr(x, op)(1, index, src)
    same = getattr(x, op)(1, index, minitl.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert same.dtype == numpy.float32
    torch = torch_or_skip()
    with pytest.raises(RuntimeError, match="dtype"):
        getattr(torch.zeros(2, 4), op)(1, torch.from_numpy(SCATTER_INDEX), torch.tensor([[1, 2], [3, 4]]))
