"""Autograd behaviour: accumulation, retain_graph, hooks, grad mode, leaves, the recording rule, deep graphs."""
import gc
import weakref

import numpy
import pytest

import minitl
from minitl.core.tensor import Function, GraphFreedError, unbroadcast


def _leaf(values, device="cpu", dtype=None):
    return minitl.tensor(values, requires_grad=True, device=device, dtype=dtype)


# ----- accumulation and retain_graph -----

def test_gradients_accumulate_across_two_backward_calls(device):
    x = _leaf([1.0, 2.0, 3.0], device)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3, 6 + 3])


def test_zero_grad_forgets_the_accumulated_gradient(device):
    x = _leaf([1.0, 2.0], device)
    (x * 2.0).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_second_backward_through_a_freed_graph_raises(device):
    x = _leaf([1.0, 2.0], device)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        loss.backward()


def test_graph_freed_error_is_a_runtime_error():
    assert issubclass(GraphFreedError, RuntimeError)


def test_retain_graph_allows_a_second_backward_that_accumulates(device):
    x = _leaf([1.0, -2.0], device)
    loss = (x * x * x).sum()
    loss.backward(retain_graph=True)
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    loss.backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    with pytest.raises(GraphFreedError):
        loss.backward()  # the second call did not retain


def test_shared_subgraph_gets_the_sum_of_both_paths(device):
    x = _leaf([2.0], device)
    y = x * 3.0
    z = y * y + y  # dz/dx = (2y + 1) * 3 = 39
    z.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [39.0])


@pytest.mark.parametrize("make", [lambda a: a * a.exp(), lambda a: a.exp() * a])
def test_input_reached_by_a_short_and_a_long_path_gets_both(make, device):
    a = _leaf([0.5, -1.0], device, dtype="float64")
    make(a).sum().backward()  # d/da (a e^a) = e^a (1 + a), whichever operand comes first
    values = numpy.array([0.5, -1.0])
    numpy.testing.assert_allclose(a.grad.numpy(), numpy.exp(values) * (1 + values))


def test_diamond_with_uneven_branches(device):
    x = _leaf([2.0], device, dtype="float64")
    long_branch = ((x * 2.0).exp() * 0.5).log()  # = 2x + log 0.5
    (x * 3.0 + long_branch).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [5.0])


def test_same_tensor_twice_in_one_op(device):
    x = _leaf([3.0, -1.0], device)
    (x * x).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [6.0, -2.0])


def test_leaf_grads_are_writeable_and_not_shared_between_leaves(device):
    a, b = _leaf([1.0, 2.0], device), _leaf([3.0, 4.0], device)
    (a + b).sum().backward()  # Add hands the same array to both inputs; sum's backward is a broadcast view
    assert a.grad.data is not b.grad.data
    a.grad.data[...] = 7.0
    numpy.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_backward_with_given_grad_does_not_alias_it(device):
    x = _leaf([1.0, 2.0], device)
    seed = minitl.tensor([5.0, 6.0], device=device)
    (x + 0.0).backward(seed)
    x.grad.data[...] = 0.0
    numpy.testing.assert_allclose(seed.numpy(), [5.0, 6.0])


# ----- backward arguments -----

def test_non_scalar_backward_without_grad_raises_clear_error(device):
    y = _leaf([1.0, 2.0], device) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(2,\)"):
        y.backward()


def test_backward_with_explicit_grad(device):
    x = _leaf([[1.0, 2.0], [3.0, 4.0]], device)
    y = x * x
    y.backward(minitl.tensor([[1.0, 0.0], [2.0, -1.0]], device=device))
    numpy.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [12.0, -8.0]])


def test_backward_with_explicit_grad_as_nested_list():
    x = _leaf([1.0, 2.0])
    (x * 3.0).backward([1.0, 10.0])
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 30.0])


def test_backward_with_grad_of_wrong_shape_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 3.0).backward(minitl.tensor([1.0, 2.0, 3.0]))


def test_backward_on_tensor_not_requiring_grad_raises(device):
    x = minitl.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_backward_on_a_scalar_leaf_sets_grad_to_one():
    x = _leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0


# ----- hooks -----

def test_hook_sees_gradient_and_can_replace_it(device):
    x = _leaf([1.0, 2.0], device)
    seen = []

    def double(grad):
        seen.append(grad.numpy().copy())
        return grad * 2.0

    x.register_hook(double)
    (x * 3.0).sum().backward()
    numpy.testing.assert_allclose(seen[0], [3.0, 3.0])
    numpy.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_hook_on_intermediate_changes_what_flows_upstream(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 2.0
    y.register_hook(lambda g: g * 0.0)
    (y * y).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])


def test_hook_returning_none_keeps_gradient(device):
    x = _leaf([1.0, 2.0], device)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    (x * 4.0).sum().backward()
    assert calls == [1]
    numpy.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_removed_hook_is_not_called(device):
    x = _leaf([1.0], device)
    handle = x.register_hook(lambda g: g * 100.0)
    handle.remove()
    handle.remove()  # removing twice is harmless
    (x * 1.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_hook_keeps_float64_precision_and_dtype():
    x = _leaf([1.0, 2.0], dtype="float64")
    dtypes = []
    x.register_hook(lambda g: (dtypes.append(g.dtype), g * (1.0 + 1e-12))[1])
    (x * 1.0).sum().backward()
    assert dtypes == [numpy.float64]
    assert x.grad.dtype == numpy.float64
    assert x.grad.numpy()[0] != 1.0  # 1 + 1e-12 survives only in float64


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        minitl.tensor([1.0]).register_hook(lambda g: g)


# ----- grad mode -----

def test_no_grad_context_records_nothing(device):
    x = _leaf([1.0], device)
    assert minitl.is_grad_enabled()
    with minitl.no_grad():
        assert not minitl.is_grad_enabled()
        y = x * 2.0
    assert minitl.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_enable_grad_inside_no_grad():
    x = _leaf([1.0])
    with minitl.no_grad():
        with minitl.enable_grad():
            assert minitl.is_grad_enabled()
            y = x * 2.0
        assert not minitl.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None


def test_set_grad_enabled_context_and_restore_after_exception():
    with minitl.set_grad_enabled(False):
        assert not minitl.is_grad_enabled()
        with minitl.set_grad_enabled(True):
            assert minitl.is_grad_enabled()
        assert not minitl.is_grad_enabled()
    assert minitl.is_grad_enabled()
    with pytest.raises(KeyError):
        with minitl.no_grad():
            raise KeyError("boom")
    assert minitl.is_grad_enabled()


def test_grad_mode_as_decorators():
    x = _leaf([1.0])

    @minitl.no_grad()
    def evaluate():
        assert not minitl.is_grad_enabled()
        return x * 2.0

    @minitl.enable_grad()
    def train_step():
        return x * 2.0

    @minitl.set_grad_enabled(False)
    def frozen():
        return x * 2.0

    assert evaluate().grad_fn is None
    assert frozen().grad_fn is None
    with minitl.no_grad():
        assert train_step().grad_fn is not None
    assert minitl.is_grad_enabled()


def test_decorated_function_can_recurse():
    @minitl.no_grad()
    def depth(n):
        assert not minitl.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert minitl.is_grad_enabled()


# ----- leaves and non-leaves -----

def test_leaves_and_non_leaves(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 2.0
    z = y.sum()
    assert x.is_leaf and not y.is_leaf
    assert minitl.tensor([1.0]).is_leaf
    z.backward()
    assert y.grad is None
    assert x.grad is not None


def test_retain_grad_keeps_non_leaf_grad(device):
    x = _leaf([1.0, 2.0], device)
    y = (x * 2.0).retain_grad()
    (y * y).sum().backward()
    numpy.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    numpy.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_retain_grad_without_requires_grad_raises():
    with pytest.raises(RuntimeError):
        minitl.tensor([1.0]).retain_grad()


def test_requires_grad_switch_on_non_leaf_raises():
    y = _leaf([1.0]) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_requires_grad_in_place_on_leaf():
    x = minitl.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    (x * 2.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_inputs_without_grad_get_no_gradient(device):
    x = _leaf([1.0, 2.0], device)
    w = minitl.tensor([3.0, 4.0], device=device)
    (x * w).sum().backward()
    assert w.grad is None


# ----- the recording rule -----

def test_op_on_inputs_without_grad_records_nothing(device):
    a = minitl.tensor([1.0, 2.0], device=device)
    b = a * 2.0
    assert b.grad_fn is None and not b.requires_grad and b.is_leaf


def test_unrecorded_op_keeps_no_reference_to_its_inputs():
    a = minitl.tensor(numpy.ones((4, 4)))
    middle = a * 2.0
    out = middle.exp() * middle
    ref = weakref.ref(middle)
    del middle
    gc.collect()
    assert ref() is None
    assert out.shape == (4, 4)


def test_unrecorded_op_under_no_grad_keeps_no_reference():
    a = _leaf(numpy.ones(3))
    with minitl.no_grad():
        middle = a * 2.0
        out = middle * 3.0
    ref = weakref.ref(middle)
    del middle
    gc.collect()
    assert ref() is None
    assert out.grad_fn is None


def test_recorded_op_keeps_its_input_alive():
    a = _leaf(numpy.ones(3))
    middle = a * 2.0
    out = middle * 3.0
    ref = weakref.ref(middle)
    del middle
    gc.collect()
    assert ref() is not None  # the graph needs it for backward
    out.sum().backward()
    numpy.testing.assert_allclose(a.grad.numpy(), [6.0, 6.0, 6.0])


def test_backward_frees_saved_values():
    a = _leaf(numpy.ones(3))
    middle = a * 2.0
    out = (middle * middle).sum()
    ref = weakref.ref(middle)
    out.backward()
    del middle
    gc.collect()
    assert ref() is None
    assert out.grad_fn.freed


# ----- deep graphs -----

def test_ten_thousand_op_chain_backward_without_recursion_error():
    x = _leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0001
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [1.0])
    numpy.testing.assert_allclose(y.numpy(), [2.0], rtol=1e-3)


# ----- the Function contract -----

class _Cube(Function):
    # z = x^3 ;  dz/dx = 3 x^2
    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, g):
        return g * 3 * self.x ** 2


def test_custom_function_apply_and_backward_name(device):
    x = _leaf([2.0], device)
    y = _Cube.apply(x)
    assert y.grad_fn.name == "_CubeBackward"
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_backward_returning_none_for_an_input_gives_no_gradient():
    class FirstOnly(Function):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return g, None

    x, y = _leaf([1.0]), _leaf([2.0])
    FirstOnly.apply(x, y).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [1.0])
    assert y.grad is None


def test_needs_input_grad_tells_which_inputs_need_gradients():
    seen = []

    class Spy(Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g):
            seen.append(self.needs_input_grad)
            return g, g

    Spy.apply(_leaf([1.0]), minitl.tensor([2.0])).sum().backward()
    assert seen == [(True, False)]


@pytest.mark.parametrize("grad_shape, shape, expected", [
    ((2, 3), (3,), [2.0, 2.0, 2.0]),
    ((2, 3), (2, 1), [[3.0], [3.0]]),
    ((2, 3), (), 6.0),
    ((4, 2, 3), (1, 3), [[8.0, 8.0, 8.0]]),
    ((2, 3), (2, 3), numpy.ones((2, 3))),
])
def test_unbroadcast_sums_copies(grad_shape, shape, expected):
    out = unbroadcast(numpy.ones(grad_shape), shape)
    assert out.shape == shape
    numpy.testing.assert_allclose(out, expected)


def test_set_grad_enabled_as_a_plain_call_switches_the_mode_like_torch():
    x = _leaf([1.0])
    try:
        minitl.set_grad_enabled(False)
        assert not minitl.is_grad_enabled() and (x * 2.0).grad_fn is None
        minitl.set_grad_enabled(True)
        assert minitl.is_grad_enabled() and (x * 2.0).grad_fn is not None
    finally:
        minitl.set_grad_enabled(True)


def test_set_grad_enabled_decorator_applies_during_each_call_only():
    @minitl.set_grad_enabled(False)
    def evaluate(n):
        assert not minitl.is_grad_enabled()
        return 0 if n == 0 else 1 + evaluate(n - 1)

    assert minitl.is_grad_enabled()  # decorating switched nothing
    assert evaluate(3) == 3
    assert minitl.is_grad_enabled()
    with minitl.no_grad():
        switched_on = minitl.set_grad_enabled(True)(minitl.is_grad_enabled)
        assert switched_on() and not minitl.is_grad_enabled()
