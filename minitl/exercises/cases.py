"""The seeded inputs each op exercise is checked on, and the forward that runs them.

A case is one call of an op: ``make_inputs(rng)`` gives its arrays (float64 ones are the inputs whose
gradient is checked; integer ones, class targets, pass through without gradient), ``forward(*tensors)``
runs the op the exercise is about. Each case's generator is seeded from its own key, so the inputs are
the same on every machine and in every copy. The forward values of every case were computed once, from
the intact package, by ``scripts/build_exercise_expectations.py`` and stored in ``expected.npz`` (values
only, no code): the checker compares the imported forward with them, and the imported backward with
finite differences of the imported forward.

Inputs stay away from kinks: a ReLU input is never within 0.05 of 0, and the values a max-pool
window compares differ by at least 0.04, far more than the finite-difference step (1e-6), so a
nudge never moves an input across a kink or changes which element wins a window.
"""
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy

from ..core.ops.activation import LogSoftmax, relu
from ..core.ops.conv import conv2d
from ..core.ops.linalg import linear, matmul
from ..core.ops.loss import cross_entropy, nll_loss
from ..core.ops.pool import max_pool2d
from ..core.ops.reduce import Sum


@dataclass(frozen=True)
class OpCase:
    exercise: str
    label: str
    make_inputs: Callable  # rng -> tuple of arrays
    forward: Callable  # (*tensors) -> Tensor

    @property
    def key(self) -> str:
        return f"{self.exercise}/{self.label}"

    def inputs(self) -> tuple:
        """The case's arrays, the same on every run (the generator is seeded from ``key``)."""
        return self.make_inputs(numpy.random.default_rng(zlib.crc32(self.key.encode())))


def _normal(*shapes):
    return lambda rng: tuple(rng.standard_normal(shape) for shape in shapes)


def _away_from_zero(shape):
    """Values in +-[0.05, 1]: a ReLU's kink at 0 stays out of reach of a finite-difference nudge."""
    return lambda rng: (rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 1.0, size=shape),)


def _distinct(shape):
    """Every value apart from every other by at least 0.04: no max-pool window has a tie, or a near one."""
    def make(rng):
        size = int(numpy.prod(shape))
        return ((rng.permutation(size) * 0.05 + rng.uniform(0.0, 0.01, size)).reshape(shape),)
    return make


def _scores_and_targets(n, c):
    return lambda rng: (rng.standard_normal((n, c)), rng.integers(0, c, size=n))


CLASS_WEIGHTS = numpy.array([0.5, 1.0, 2.0, 1.0, 0.25])

CASES = [
    OpCase("mul", "x * y, same shape", _normal((3, 4), (3, 4)), lambda x, y: x * y),
    OpCase("mul", "x * 2.5, a constant", _normal((3, 4)), lambda x: x * 2.5),
    OpCase("sum", "all elements", _normal((3, 4)), lambda x: Sum.apply(x)),
    OpCase("sum", "axis 1", _normal((3, 4, 2)), lambda x: Sum.apply(x, axis=1)),
    OpCase("sum", "axes (0, 2), keepdims", _normal((3, 4, 2)), lambda x: Sum.apply(x, axis=(0, 2), keepdims=True)),
    OpCase("unbroadcast", "(3, 4) + (4,)", _normal((3, 4), (4,)), lambda x, y: x + y),
    OpCase("unbroadcast", "(3, 4) + (3, 1)", _normal((3, 4), (3, 1)), lambda x, y: x + y),
    OpCase("unbroadcast", "(2, 3, 4) + (1, 3, 1)", _normal((2, 3, 4), (1, 3, 1)), lambda x, y: x + y),
    OpCase("matmul", "(3, 4) @ (4, 2)", _normal((3, 4), (4, 2)), matmul),
    OpCase("matmul", "(2, 3, 4) @ (2, 4, 5), batched", _normal((2, 3, 4), (2, 4, 5)), matmul),
    OpCase("matmul", "(3, 4) @ (4,), matrix-vector", _normal((3, 4), (4,)), matmul),
    OpCase("matmul", "(4,) @ (4, 2), vector-matrix", _normal((4,), (4, 2)), matmul),
    OpCase("matmul", "(4,) @ (4,), dot product", _normal((4,), (4,)), matmul),
    OpCase("linear", "(5, 4) -> (5, 3), bias", _normal((5, 4), (3, 4), (3,)), linear),
    OpCase("linear", "(2, 5, 4) -> (2, 5, 3), bias", _normal((2, 5, 4), (3, 4), (3,)), linear),
    OpCase("linear", "(5, 4) -> (5, 3), no bias", _normal((5, 4), (3, 4)), linear),
    OpCase("relu", "(4, 5), no input near 0", _away_from_zero((4, 5)), relu),
    OpCase("log_softmax", "(4, 5) along axis 1", _normal((4, 5)), lambda x: LogSoftmax.apply(x, axis=1)),
    OpCase("log_softmax", "(3, 4, 2) along axis -1", _normal((3, 4, 2)), lambda x: LogSoftmax.apply(x, axis=-1)),
    OpCase("log_softmax", "(2, 5) scores near 50", lambda rng: (50 + rng.standard_normal((2, 5)),),
           lambda x: LogSoftmax.apply(x, axis=1)),
    OpCase("cross_entropy", "nll_loss, mean", _scores_and_targets(4, 5), nll_loss),
    OpCase("cross_entropy", "nll_loss, sum", _scores_and_targets(4, 5), lambda p, t: nll_loss(p, t, reduction="sum")),
    OpCase("cross_entropy", "nll_loss, none", _scores_and_targets(4, 5),
           lambda p, t: nll_loss(p, t, reduction="none")),
    OpCase("cross_entropy", "nll_loss, class weights", _scores_and_targets(6, 5),
           lambda p, t: nll_loss(p, t, weight=CLASS_WEIGHTS)),
    OpCase("cross_entropy", "cross_entropy, label smoothing 0.1", _scores_and_targets(4, 5),
           lambda s, t: cross_entropy(s, t, label_smoothing=0.1)),
    OpCase("conv2d", "3x3, padding 1, bias", _normal((2, 3, 5, 5), (4, 3, 3, 3), (4,)),
           lambda x, w, b: conv2d(x, w, b, padding=1)),
    OpCase("conv2d", "3x3, stride 2, no bias", _normal((1, 2, 6, 6), (3, 2, 3, 3)),
           lambda x, w: conv2d(x, w, stride=2)),
    OpCase("conv2d", "3x3, dilation 2, groups 2", _normal((1, 4, 7, 7), (4, 2, 3, 3), (4,)),
           lambda x, w, b: conv2d(x, w, b, dilation=2, groups=2)),
    OpCase("max_pool2d", "2x2, stride 2", _distinct((2, 2, 4, 4)), lambda x: max_pool2d(x, 2)),
    OpCase("max_pool2d", "3x3, stride 2, padding 1 (windows overlap)", _distinct((1, 2, 5, 5)),
           lambda x: max_pool2d(x, 3, stride=2, padding=1)),
    OpCase("max_pool2d", "2x2, stride 1, dilation 2", _distinct((1, 1, 6, 6)),
           lambda x: max_pool2d(x, 2, stride=1, dilation=2)),
]


@dataclass(frozen=True)
class SGDCase:
    """Three SGD steps of one (3, 4) parameter from seeded gradients, with these settings."""

    label: str
    settings: dict
    steps: int = 3

    @property
    def key(self) -> str:
        return f"sgd_step/{self.label}"

    def inputs(self) -> tuple:
        """(the starting parameter, the gradient of each step)."""
        rng = numpy.random.default_rng(zlib.crc32(self.key.encode()))
        return rng.standard_normal((3, 4)), [rng.standard_normal((3, 4)) for _ in range(self.steps)]


SGD_CASES = [
    SGDCase("lr 0.1", dict(lr=0.1)),
    SGDCase("momentum 0.9", dict(lr=0.1, momentum=0.9)),
    SGDCase("momentum 0.9, weight decay 0.01", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    SGDCase("momentum 0.9, dampening 0.5", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    SGDCase("Nesterov momentum 0.9, weight decay 0.01", dict(lr=0.1, momentum=0.9, weight_decay=0.01,
                                                            nesterov=True)),
]
