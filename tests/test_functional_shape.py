"""Shape ops and indexing: values against NumPy, gradients by finite differences in float64, repeated
indices adding up, and parity with PyTorch in float32."""
import numpy
import pytest

import minitl
from minitl.core.ops import shape as sh
from minitl.functional.device_copy import to_device
from minitl.nn import functional as F
from parity import t64, torch_or_skip

# (name, minitl op on a (2, 3, 4) tensor, the same move in NumPy)
SHAPE_OPS = [
    ("reshape", lambda x: x.reshape(4, 6), lambda a: a.reshape(4, 6)),
    ("reshape_tuple_minus_one", lambda x: minitl.reshape(x, (3, -1)), lambda a: a.reshape(3, -1)),
    ("view", lambda x: x.view(-1), lambda a: a.reshape(-1)),
    ("flatten", lambda x: minitl.flatten(x), lambda a: a.reshape(-1)),
    ("flatten_from_1", lambda x: x.flatten(1), lambda a: a.reshape(2, 12)),
    ("flatten_0_1", lambda x: x.flatten(0, 1), lambda a: a.reshape(6, 4)),
    ("transpose_default", lambda x: minitl.transpose(x), lambda a: a.swapaxes(-1, -2)),
    ("transpose_0_2", lambda x: x.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    ("permute", lambda x: minitl.permute(x, 2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    ("permute_negative", lambda x: x.permute((-1, 1, 0)), lambda a: a.transpose(2, 1, 0)),
    ("T", lambda x: x.T, lambda a: a.T),
    ("unsqueeze_0", lambda x: minitl.unsqueeze(x, 0), lambda a: a[None]),
    ("unsqueeze_-1", lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    ("squeeze_all", lambda x: x.unsqueeze(1).unsqueeze(-1).squeeze(), lambda a: a),
    ("squeeze_axis", lambda x: minitl.squeeze(x.unsqueeze(1), 1), lambda a: a),
    ("squeeze_not_one", lambda x: x.squeeze(0), lambda a: a),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4), lambda a: numpy.broadcast_to(a[:, :1], (2, 5, 4))),
    ("expand_minus_one", lambda x: minitl.expand(x, 3, -1, -1, -1), lambda a: numpy.broadcast_to(a, (3, 2, 3, 4))),
    ("broadcast_to", lambda x: minitl.broadcast_to(x[0, 0], (3, 4)), lambda a: numpy.broadcast_to(a[0, 0], (3, 4))),
    ("pad", lambda x: F.pad(x, (2, 1, 1, 2), value=0.5),
     lambda a: numpy.pad(a, [(0, 0), (1, 2), (2, 1)], constant_values=0.5)),
    ("split_int_last", lambda x: minitl.split(x, 3, axis=-1)[1], lambda a: a[..., 3:]),
]

# indices applied as x[index] to a (3, 4, 5) tensor
INDICES = [
    ("int", 1), ("negative_int", -1), ("slice", slice(1, None)), ("step_slice", (slice(None), slice(None, None, 2))),
    ("reverse_slice", slice(None, None, -1)), ("int_and_slice", (0, slice(1, 3))), ("none", (None, 1)),
    ("ellipsis", (Ellipsis, 2)), ("ellipsis_none", (1, Ellipsis, None)), ("int_array", numpy.array([2, 0])),
    ("repeated_list", [0, 0, 1]), ("repeated_pairs", ([0, 0, 2], [1, 1, 3])),
    ("array_and_slice", (slice(None), numpy.array([3, 3, 0]))), ("bool_mask_rows", numpy.array([True, False, True])),
    ("scalar_element", (1, 2, 3)), ("numpy_int", numpy.int64(2)),
]


@pytest.mark.parametrize("name, op, reference", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_op_values_and_gradcheck(name, op, reference, rng, device):
    x = t64(rng.standard_normal((2, 3, 4)), device)
    out = op(x)
    numpy.testing.assert_array_equal(out.numpy(), reference(x.numpy()))
    assert minitl.gradcheck(op, [x])


@pytest.mark.parametrize("name, op, reference", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_op_on_transposed_input(name, op, reference, rng, device):
    x = minitl.Tensor(rng.standard_normal((4, 3, 2)).T, dtype="float64", requires_grad=True, device=device)
    numpy.testing.assert_array_equal(op(x).numpy(), reference(x.numpy()))
    assert minitl.gradcheck(op, [x])


@pytest.mark.parametrize("name, index", INDICES, ids=[i[0] for i in INDICES])
def test_indexing_values_and_gradcheck(name, index, rng, device):
    x = t64(rng.standard_normal((3, 4, 5)), device)
    numpy.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    assert minitl.gradcheck(lambda a: a[index], [x])


def test_indexing_with_a_full_boolean_mask(rng, device):
    values = rng.standard_normal((3, 4))
    x = t64(values, device)
    mask = values > 0
    numpy.testing.assert_array_equal(x[mask].numpy(), values[mask])
    assert minitl.gradcheck(lambda a: a[mask], [x])
    assert minitl.gradcheck(lambda a: a[minitl.tensor(mask, device=device)], [x])  # a Tensor mask works too
    x.grad = None
    x[x > 0].sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), mask.astype(float))


def test_repeated_integer_indices_add_up(device):
    x = minitl.tensor([10.0, 20.0, 30.0], requires_grad=True, device=device)
    picked = x[[0, 0, 1]]
    numpy.testing.assert_array_equal(picked.numpy(), [10.0, 10.0, 20.0])
    picked.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [2.0, 1.0, 0.0])


def test_repeated_indices_from_an_int_tensor(device):
    x = minitl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    rows = minitl.tensor([1, 1, 1, 0], device=device)
    (x[rows] * minitl.tensor([[1.0], [2.0], [3.0], [4.0]], device=device)).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [[4.0, 4.0], [6.0, 6.0]])


def test_repeated_indices_gradient_matches_torch(rng, device):
    torch = torch_or_skip()
    values = rng.standard_normal((4, 3)).astype(numpy.float32)
    rows, cols = numpy.array([0, 3, 0, 0, 2]), numpy.array([1, 1, 1, 2, 0])
    upstream = rng.standard_normal(5).astype(numpy.float32)
    x = minitl.tensor(values, requires_grad=True, device=device)
    x[rows, cols].backward(minitl.tensor(upstream, device=device))
    t = torch.tensor(values, requires_grad=True)
    t[torch.from_numpy(rows), torch.from_numpy(cols)].backward(torch.from_numpy(upstream))
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_values_and_gradcheck(axis, rng, device):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 4), (2, 2)], -1: [(2, 2), (2, 1), (2, 3)]}[axis]
    tensors = [t64(rng.standard_normal(s), device) for s in shapes]
    out = minitl.cat(tensors, axis=axis)
    numpy.testing.assert_array_equal(out.numpy(), numpy.concatenate([t.numpy() for t in tensors], axis=axis))
    assert minitl.gradcheck(lambda *ts: minitl.cat(ts, axis=axis), tensors)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_values_and_gradcheck(axis, rng, device):
    tensors = [t64(rng.standard_normal((2, 3)), device) for _ in range(3)]
    out = minitl.stack(tensors, axis=axis)
    numpy.testing.assert_array_equal(out.numpy(), numpy.stack([t.numpy() for t in tensors], axis=axis))
    assert minitl.gradcheck(lambda *ts: minitl.stack(ts, axis=axis), tensors)


def test_cat_with_an_input_that_needs_no_grad(rng, device):
    a = t64(rng.standard_normal((2, 2)), device)
    b = minitl.tensor(rng.standard_normal((1, 2)), dtype="float64", device=device)
    assert minitl.gradcheck(lambda x: minitl.cat([x, b]), [a])
    assert b.grad is None


@pytest.mark.parametrize("sections, axis, sizes", [(2, 0, [2, 2, 1]), ([1, 4], 0, [1, 4]), (3, 1, [3]),
                                                  ([1, 1, 1], -1, [1, 1, 1])])
def test_split_pieces_and_gradcheck(sections, axis, sizes, rng, device):
    x = t64(rng.standard_normal((5, 3)), device)
    pieces = minitl.split(x, sections, axis=axis)
    assert [p.shape[axis] for p in pieces] == sizes
    numpy.testing.assert_array_equal(minitl.cat(pieces, axis=axis).numpy(), x.numpy())
    weights = [float(k + 1) for k in range(len(pieces))]
    assert minitl.gradcheck(lambda a: minitl.cat([p * w for p, w in
                                                   zip(minitl.split(a, sections, axis=axis), weights)], axis=axis), [x])


def test_split_with_sizes_that_do_not_add_up_raises():
    with pytest.raises(ValueError, match="add up"):
        minitl.split(minitl.tensor(numpy.zeros(5)), [2, 2])


def test_reshape_with_wrong_size_raises():
    with pytest.raises(ValueError):
        minitl.tensor(numpy.zeros(6)).reshape(4, 2)


def test_to_device_cpu_is_recorded(device):
    x = minitl.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = to_device(x, "cpu")
    assert y.device == "cpu" and y.grad_fn is not None
    (y * 3.0).sum().backward()
    assert x.grad.device == device
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_shape_ops_match_torch(rng, device):
    torch = torch_or_skip()
    values = rng.standard_normal((2, 3, 4)).astype(numpy.float32)
    upstream_rng = numpy.random.default_rng(5)
    cases = [
        (lambda x: x.permute(2, 0, 1).reshape(4, 6), lambda t: t.permute(2, 0, 1).reshape(4, 6)),
        (lambda x: x[:, None, 1:, ::2].expand(2, 3, 2, 2), lambda t: t[:, None, 1:, ::2].expand(2, 3, 2, 2)),
        (lambda x: x.flatten(1).unsqueeze(0).squeeze(0), lambda t: t.flatten(1).unsqueeze(0).squeeze(0)),
        (lambda x: F.pad(x, (2, 3, 0, 0, 1, 0)), lambda t: torch.nn.functional.pad(t, (2, 3, 0, 0, 1, 0))),
        (lambda x: minitl.stack([x, x * 2.0], axis=1), lambda t: torch.stack([t, t * 2.0], dim=1)),
        (lambda x: x[..., [0, 0, 3]], lambda t: t[..., [0, 0, 3]]),
    ]
    for ours_fn, torch_fn in cases:
        x = minitl.tensor(values, requires_grad=True, device=device)
        t = torch.tensor(values, requires_grad=True)
        out, expected = ours_fn(x), torch_fn(t)
        numpy.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
        upstream = upstream_rng.standard_normal(out.shape).astype(numpy.float32)
        out.backward(minitl.tensor(upstream, device=device))
        expected.backward(torch.from_numpy(upstream))
        numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("call", [
    lambda x: minitl.cat([x, x], dim=0, axis=1),
    lambda x: minitl.stack([x, x], dim=0, axis=1),
    lambda x: x.split(1, dim=0, axis=1),
    lambda x: x.unsqueeze(dim=0, axis=1),
], ids=["cat", "stack", "split", "unsqueeze"])
def test_dim_and_axis_together_are_refused(call):
    with pytest.raises(TypeError, match="not both"):
        call(minitl.tensor(numpy.zeros((2, 3))))


def test_flatten_of_a_scalar_and_unsqueeze_without_dim():
    x = minitl.tensor(2.0, requires_grad=True)
    flat = sh.flatten(x)
    assert flat.shape == (1,)
    flat.sum().backward()
    assert x.grad.shape == ()
    with pytest.raises(TypeError, match="needs dim"):
        sh.unsqueeze(minitl.tensor([1.0]))


# ----- issue 13 regressions -----

def test_torch_pad_with_more_pairs_than_axes_raises():
    with pytest.raises(ValueError, match="only 2 axes"):
        F.pad(minitl.tensor(numpy.ones((3, 3))), (0, 0, 0, 0, 1, 0, 3, 0))
    assert F.pad(minitl.tensor(numpy.ones((3, 3))), (0, 0, 1, 0)).shape == (4, 3)


@pytest.mark.parametrize("index", [
    (0, slice(None), [0, 2]), (1, [0, 2]), (slice(None), 1, [0, 2]), (Ellipsis, 0, [1]),
    (None, 0, slice(None), [0, 1, 2]), (0, [1, 0], slice(1, 3)), (0, slice(None), numpy.array([[0, 2], [1, 3]])),
], ids=["int_slice_list", "int_list", "slice_int_list", "ellipsis_int_list", "none_int_slice_list",
        "int_list_slice", "int_slice_2d_array"])
def test_int_and_index_list_follow_torch_axis_order(index, rng, device):
    torch = torch_or_skip()
    data = rng.standard_normal((2, 3, 4))
    x = minitl.tensor(data, requires_grad=True, device=device)
    t = torch.tensor(data, dtype=torch.float32, requires_grad=True)
    torch_index = tuple(torch.from_numpy(p) if isinstance(p, numpy.ndarray) else p for p in index)
    out, expected = x[index], t[torch_index]
    assert out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
    upstream = rng.standard_normal(out.shape).astype(numpy.float32)
    out.backward(minitl.tensor(upstream, device=device))
    expected.backward(torch.from_numpy(upstream))
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_0d_integer_tensor_index_counts_as_an_int():
    x = minitl.tensor(numpy.zeros((2, 3, 4)))
    assert x[minitl.tensor(0), :, [0, 2]].shape == (3, 2)
