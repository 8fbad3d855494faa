"""Creation functions (minitl/creation.py): PyTorch's names, default dtypes, sizes and values, with
dtype / device / requires_grad, and the seeded random ones."""
import numpy
import pytest

import minitl
from parity import torch_or_skip

# (name, minitl call, torch call): the same arguments on both sides
DETERMINISTIC = [
    ("zeros_ints", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3))),
    ("ones", lambda m: m.ones(4)),
    ("full_float", lambda m: m.full((2, 2), 7.5)),
    ("full_int", lambda m: m.full((2,), 3)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("arange_end", lambda m: m.arange(5)),
    ("arange_start_end_step", lambda m: m.arange(1, 10, 3)),
    ("arange_float_step", lambda m: m.arange(0, 1, 0.25)),
    ("arange_negative_step", lambda m: m.arange(5, 0, -2)),
    ("arange_float_start", lambda m: m.arange(0.5, 3)),
    ("linspace", lambda m: m.linspace(-1, 1, 5)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 4)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3))),
    ("ones_like_int", lambda m: m.ones_like(m.arange(4))),
    ("full_like", lambda m: m.full_like(m.zeros(3), 2.5)),
    ("empty_shape", lambda m: m.zeros_like(m.empty(2, 5))),
]


@pytest.mark.parametrize("name, make", DETERMINISTIC, ids=[d[0] for d in DETERMINISTIC])
def test_creation_matches_torch_values_and_dtype(name, make):
    torch = torch_or_skip()
    ours, theirs = make(minitl), make(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda **k: minitl.zeros(2, 3, **k), lambda **k: minitl.ones((2, 3), **k),
    lambda **k: minitl.full((2, 3), 1.5, **k),
    lambda **k: minitl.empty(2, 3, **k), lambda **k: minitl.rand(2, 3, **k), lambda **k: minitl.randn(2, 3, **k),
    lambda **k: minitl.eye(2, 3, **k), lambda **k: minitl.linspace(0, 1, 6, **k),
    lambda **k: minitl.arange(0.0, 6.0, **k),
], ids=["zeros", "ones", "full", "empty", "rand", "randn", "eye", "linspace", "arange"])
def test_dtype_device_and_requires_grad_are_honoured(make, device):
    x = make(dtype="float64", device=device, requires_grad=True)
    assert x.dtype == numpy.float64 and x.device == device and x.requires_grad and x.is_leaf and x.numel() == 6
    (x * 2).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.full(x.shape, 2.0))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        minitl.arange(3, requires_grad=True)


def test_random_creation_is_seeded_and_in_range(device):
    minitl.manual_seed(5)
    a = minitl.rand(1000, device=device)
    minitl.manual_seed(5)
    b = minitl.rand(1000, device=device)
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == numpy.float32 and 0 <= a.numpy().min() and a.numpy().max() < 1
    n = minitl.randn(20000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    r = minitl.randint(3, 7, (500,), device=device)
    assert r.dtype == numpy.int64 and set(numpy.unique(r.numpy())) == {3, 4, 5, 6}
    assert minitl.randint(4, (2, 3)).shape == (2, 3) and minitl.randint(4, (50,)).numpy().max() < 4
    p = minitl.randperm(10, device=device)
    assert p.dtype == numpy.int64 and sorted(p.numpy().tolist()) == list(range(10))


def test_random_like_forms_copy_shape_dtype_and_device(device):
    x = minitl.zeros(3, 4, dtype="float64", device=device)
    for made in (minitl.rand_like(x), minitl.randn_like(x), minitl.empty_like(x), minitl.ones_like(x)):
        assert made.shape == (3, 4) and made.dtype == numpy.float64 and made.device == device
    i = minitl.randint_like(x, 5)
    assert i.dtype == numpy.float64 and i.numpy().max() < 5 and (i.numpy() == numpy.round(i.numpy())).all()


def test_from_numpy_shares_memory_and_keeps_dtype():
    array = numpy.arange(6, dtype=numpy.float64).reshape(2, 3)
    t = minitl.from_numpy(array)
    assert t.dtype == numpy.float64 and t.device == "cpu"
    array[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    with pytest.raises(TypeError, match="numpy.ndarray"):
        minitl.from_numpy([1, 2])


def test_as_tensor_shares_when_it_can(device):
    array = numpy.ones(3, dtype=numpy.float32)
    t = minitl.as_tensor(array)
    array[0] = 5.0
    assert t.numpy()[0] == 5.0
    x = minitl.ones(2, device=device)
    assert minitl.as_tensor(x) is x
    assert minitl.as_tensor([1.0, 2.0]).dtype == numpy.float32 and minitl.as_tensor([1, 2]).dtype == numpy.int64
    assert minitl.as_tensor(array, dtype="float64").dtype == numpy.float64
    assert minitl.as_tensor(array, device=device).device == device


def test_new_zeros_and_new_ones_follow_the_source(device):
    x = minitl.ones(2, dtype="float64", device=device)
    for made, value in ((x.new_zeros(3, 2), 0.0), (x.new_ones((3, 2)), 1.0), (x.new_full((3, 2), 4.0), 4.0),
                        (x.new_empty(3, 2), 0.0)):
        assert made.shape == (3, 2) and made.dtype == numpy.float64 and made.device == device
        assert (made.numpy() == value).all()
    assert x.new_zeros(2, dtype="int64").dtype == numpy.int64
    assert x.new_tensor([1, 2]).dtype == numpy.float64


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="non-negative ints"):
        minitl.zeros(2, -1)
    with pytest.raises(ValueError, match="step"):
        minitl.arange(0, 3, 0)
    with pytest.raises(ValueError, match="greater than low"):
        minitl.randint(5, 5, (2,))


def test_dtype_names_follow_torch():
    assert minitl.zeros(1, dtype=minitl.float).dtype == numpy.float32
    assert minitl.zeros(1, dtype=minitl.long).dtype == numpy.int64
    assert minitl.zeros(1, dtype=minitl.int).dtype == numpy.int32
    assert minitl.zeros(1, dtype=minitl.bool).dtype == numpy.bool_
    assert minitl.zeros(1, dtype=minitl.double).dtype == numpy.float64
