"""flip, roll, repeat, tile: float64 gradcheck and PyTorch parity of values and gradients (float32)."""
import numpy
import pytest

import minitl
from parity import assert_matches_torch, t64, torch_or_skip

# (name, minitl op, torch op, input shape)
OPS = [
    ("flip_one", lambda x: x.flip(1), lambda t: t.flip(1), (2, 3, 4)),
    ("flip_many", lambda x: minitl.flip(x, (0, -1)), lambda t: t.flip((0, -1)), (2, 3, 4)),
    ("roll_flat", lambda x: x.roll(5), lambda t: t.roll(5), (2, 3, 4)),
    ("roll_dim", lambda x: x.roll(-1, 2), lambda t: t.roll(-1, 2), (2, 3, 4)),
    ("roll_dims", lambda x: minitl.roll(x, (1, 2), (0, 1)), lambda t: t.roll((1, 2), (0, 1)), (2, 3, 4)),
    ("repeat", lambda x: x.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3), (2, 3, 4)),
    ("repeat_new_axes", lambda x: x.repeat((2, 1, 1, 2)), lambda t: t.repeat((2, 1, 1, 2)), (2, 3, 4)),
    ("tile_short", lambda x: x.tile((2,)), lambda t: t.tile((2,)), (2, 3, 4)),
    ("tile_long", lambda x: minitl.tile(x, (2, 1, 2, 1)), lambda t: t.tile((2, 1, 2, 1)), (2, 3, 4)),
]


@pytest.mark.parametrize("name, op, torch_op, shape", OPS, ids=[o[0] for o in OPS])
def test_gradcheck(name, op, torch_op, shape, rng, device):
    assert minitl.gradcheck(op, [t64(rng.standard_normal(shape), device)])


@pytest.mark.parametrize("name, op, torch_op, shape", OPS, ids=[o[0] for o in OPS])
def test_matches_torch(name, op, torch_op, shape, rng, device):
    assert_matches_torch(op, torch_op, [rng.standard_normal(shape)], device)


def test_repeat_needs_a_count_per_axis():
    with pytest.raises(ValueError, match="tile"):
        minitl.zeros(2, 3).repeat(2)


def test_flip_refuses_out_of_range_dims():
    with pytest.raises(IndexError, match="Dimension out of range"):
        minitl.zeros(2, 3).flip(2)
    with pytest.raises(ValueError, match="same length"):
        minitl.zeros(2, 3).roll((1, 2), 0)


def test_flip_of_image_batch_is_a_mirror():
    x = minitl.tensor(numpy.arange(6.0).reshape(1, 1, 2, 3))
    numpy.testing.assert_array_equal(x.flip(3).numpy()[0, 0], [[2, 1, 0], [5, 4, 3]])


def test_dims_as_arguments_tuple_or_keyword():
    x = minitl.tensor(numpy.arange(6.0).reshape(2, 3))
    expected = x.flip(0, 1).numpy()
    for flipped in (x.flip((0, 1)), x.flip([0, 1]), x.flip(dims=(0, 1))):
        numpy.testing.assert_array_equal(flipped.numpy(), expected)
    assert x.tile(dims=(2,)).shape == (2, 6) and x.tile(2, 1).shape == (4, 3)
    with pytest.raises(TypeError, match="not both"):
        x.flip(0, dims=(1,))


def test_roll_with_several_shifts_and_no_dims_is_refused_as_in_torch():
    """PyTorch raises "shifts and dimensions must align"; minitl used to roll the flat tensor by the sum."""
    x = minitl.tensor(numpy.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"must align.*roll\(x, \(1, 2\), \(0, 1\)\)"):
        minitl.roll(x, (1, 2))
    torch = torch_or_skip()
    with pytest.raises(RuntimeError, match="must align"):
        torch.roll(torch.arange(6.0).reshape(2, 3), (1, 2))
    # one shift in a tuple is still the flattened roll, in both
    numpy.testing.assert_array_equal(minitl.roll(x, (2,)).numpy(),
                                     torch.roll(torch.arange(6.0).reshape(2, 3), (2,)).numpy())
