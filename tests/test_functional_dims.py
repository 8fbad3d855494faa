"""One dim rule for every op (minitl/functional/dims.py): an out-of-range dim is an IndexError, as in
PyTorch, never a silent wrap-around; a 0-d tensor takes dim 0 and -1."""
import numpy
import pytest

import minitl
from minitl.nn import functional as F
from parity import torch_or_skip


def _one_more(dim):
    """The same out-of-range position for ops that insert an axis (their range is one wider)."""
    return dim + 1 if dim >= 0 else dim - 1


MATRIX_OPS = {
    "sum": lambda x, d: x.sum(d),
    "mean": lambda x, d: x.mean(d),
    "amax": lambda x, d: x.amax(d),
    "amin": lambda x, d: x.amin(d),
    "max": lambda x, d: x.max(d),
    "min": lambda x, d: x.min(d),
    "var": lambda x, d: x.var(d),
    "argmax": lambda x, d: x.argmax(d),
    "squeeze": lambda x, d: x.squeeze(d),
    "unsqueeze": lambda x, d: x.unsqueeze(_one_more(d)),  # a new axis: a 2-D tensor takes dims -3..2
    "permute": lambda x, d: x.permute(0, d),
    "transpose": lambda x, d: x.transpose(0, d),
    "flatten": lambda x, d: x.flatten(0, d),
    "softmax": lambda x, d: x.softmax(d),
    "log_softmax": lambda x, d: x.log_softmax(d),
    "cat": lambda x, d: minitl.cat([x, x], d),
    "stack": lambda x, d: minitl.stack([x, x], _one_more(d)),
    "split": lambda x, d: x.split(1, d),
}


@pytest.mark.parametrize("bad", [2, -3])
@pytest.mark.parametrize("name", list(MATRIX_OPS))
def test_out_of_range_dim_raises_index_error(name, bad):
    x = minitl.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(IndexError, match="Dimension out of range"):
        MATRIX_OPS[name](x, bad)


@pytest.mark.parametrize("name", list(MATRIX_OPS))
def test_in_range_negative_dim_still_works(name):
    x = minitl.tensor([[1.0, 2.0], [3.0, 4.0]])
    MATRIX_OPS[name](x, -1)  # no error; values are checked against PyTorch in each op's own tests


def test_sum_over_dim_2_of_a_matrix_no_longer_sums_axis_0():
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        minitl.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(2)


def test_permute_must_name_every_axis_once():
    x = minitl.tensor(numpy.zeros((2, 3)))
    with pytest.raises(IndexError):
        x.permute(0, 3)
    with pytest.raises(ValueError, match="exactly once"):
        x.permute(0, 0)


ZERO_D_OPS = {
    "sum": lambda x, d: x.sum(d),
    "mean": lambda x, d: x.mean(d),
    "amax": lambda x, d: x.amax(d),
    "amin": lambda x, d: x.amin(d),
    "max": lambda x, d: x.max(d).values,
    "min": lambda x, d: x.min(d).values,
    "squeeze": lambda x, d: x.squeeze(d),
    "flatten": lambda x, d: x.flatten(d, d),
    "transpose": lambda x, d: x.transpose(d, d),
    "softmax": lambda x, d: x.softmax(d),
    "log_softmax": lambda x, d: x.log_softmax(d),
    "unsqueeze": lambda x, d: x.unsqueeze(d),
}


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", list(ZERO_D_OPS))
def test_dim_0_and_minus_1_on_a_0d_tensor_match_torch(name, dim):
    torch = torch_or_skip()
    x = minitl.tensor(2.0, requires_grad=True)
    t = torch.tensor(2.0, requires_grad=True)
    out, expected = ZERO_D_OPS[name](x, dim), ZERO_D_OPS[name](t, dim)
    assert out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_0d_max_dim_gives_index_0_and_out_of_range_raises():
    values, indices = minitl.tensor(2.0).max(0)
    assert values.item() == 2.0 and indices.item() == 0 and indices.dtype == numpy.int64
    with pytest.raises(IndexError, match="Dimension out of range"):
        minitl.tensor(2.0).sum(1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        minitl.tensor(2.0).squeeze(1)


def test_softmax_of_integer_tensor_along_bad_dim_names_softmax():
    with pytest.raises(IndexError, match="softmax"):
        F.softmax(minitl.tensor([[1.0, 2.0]]), dim=5)


def test_size_of_a_dim_uses_the_same_rule():
    x = minitl.tensor(numpy.zeros((2, 3)))
    assert x.size(-1) == 3 and x.size(0) == 2
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(2)
