"""gradcheck itself: it accepts correct ops, catches wrong ones (naming input and index), refuses float32."""
import numpy
import pytest

import minitl
from minitl.core.tensor import Function
from minitl.gradcheck import GradcheckError
from parity import t64


class _SquareWithWrongGradient(Function):
    # z = x^2 ;  the correct dz/dx is 2x, this one returns 2x + 1 on the last element only
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        wrong = 2 * self.x
        wrong[tuple(n - 1 for n in wrong.shape)] += 1.0
        return g * wrong


class _ProductWithWrongSecondGradient(Function):
    # z = x * y ;  dz/dy should be x, this one returns 2x
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, 2 * g * self.x


def test_returns_true_for_a_correct_op(rng, device):
    x = t64(rng.standard_normal((2, 3)), device)
    assert minitl.gradcheck(lambda a: (a * a.exp()).sum(axis=1), [x]) is True


def test_wrong_gradient_raises_naming_input_and_index(rng, device):
    x = t64(rng.standard_normal((2, 3)), device)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 3\)\).*index \(1, 2\)"):
        minitl.gradcheck(lambda a: _SquareWithWrongGradient.apply(a), [x])


def test_wrong_gradient_of_the_second_input_is_named(rng):
    x, y = t64(rng.standard_normal(3)), t64(rng.uniform(1.0, 2.0, 3))
    with pytest.raises(GradcheckError, match="input 1"):
        minitl.gradcheck(lambda a, b: _ProductWithWrongSecondGradient.apply(a, b), [x, y])
    # checking only the first input passes: its gradient is right
    y.requires_grad = False
    assert minitl.gradcheck(lambda a, b: _ProductWithWrongSecondGradient.apply(a, b), [x, y])


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)
    assert minitl.GradcheckError is GradcheckError


def test_refuses_float32_inputs():
    x = minitl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        minitl.gradcheck(lambda a: a * a, [x])


def test_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        minitl.gradcheck(lambda a: a * a, [t64([1.0], requires_grad=False)])


def test_non_tensor_arguments_pass_through(rng):
    x = t64(rng.standard_normal((3, 4)))
    assert minitl.gradcheck(lambda a, axis: (a * a).sum(axis=axis), [x, 1])


def test_scalar_output_and_scalar_input():
    x = t64(1.5)
    assert minitl.gradcheck(lambda a: a * a * a, [x])


def test_non_contiguous_input_is_checked_correctly(rng):
    base = rng.standard_normal((3, 4))
    x = minitl.Tensor(base.T, dtype="float64", requires_grad=True)  # Tensor() keeps the transposed view
    assert not x.data.flags.c_contiguous
    assert minitl.gradcheck(lambda a: (a * a).sum(axis=0), [x])
    with pytest.raises(GradcheckError):
        minitl.gradcheck(lambda a: _SquareWithWrongGradient.apply(a), [x])


def test_inputs_are_restored_and_grads_reset(rng):
    values = rng.standard_normal(4)
    x = t64(values)
    x.grad = t64(numpy.full(4, 100.0), requires_grad=False)  # a stale gradient must not leak in
    assert minitl.gradcheck(lambda a: (a * 3.0).sum(), [x])
    numpy.testing.assert_array_equal(x.numpy(), values)
    projection_weight = numpy.random.default_rng(0).standard_normal(())  # gradcheck's default seed=0
    numpy.testing.assert_allclose(x.grad.numpy(), numpy.full(4, 3.0 * projection_weight))


def test_finite_difference_forwards_record_no_graph(rng):
    recorded = []

    def square(x):
        out = x * x
        recorded.append(out.grad_fn is not None)
        return out

    assert minitl.gradcheck(square, [t64(rng.standard_normal(3))])
    assert recorded == [True] + [False] * 6  # one recorded forward for backward, then 2 nudges per element
    assert minitl.is_grad_enabled()
