"""Products and scans: ``prod``, ``logsumexp`` and ``cumsum``, each with its backward beside its forward.

Reductions beyond the spine's (``core/ops/reduce.py``), for the PyTorch API; no reference model needs them.
"""
import numpy

from ..core.backend import asnumpy, get_array_module
from ..core.ops.arithmetic import to_floating
from ..core.ops.reduce import normalize_dim, normalize_dims, resolve_dim, restore_reduced
from ..core.tensor import Function
from ..deterministic import are_deterministic_algorithms_enabled


def _shift_along(a, axis, xp):
    """``[1, a_0, ..., a_(n-2)]`` along ``axis``: a running product made exclusive."""
    lead, first = [slice(None)] * a.ndim, [slice(None)] * a.ndim
    lead[axis], first[axis] = slice(0, -1), slice(0, 1)
    return xp.concatenate([xp.ones_like(a[tuple(first)]), a[tuple(lead)]], axis=axis)


class Prod(Function):
    # z = prod_i x_i ;  dz/dx_i = prod_(j<i) x_j * prod_(j>i) x_j   (no division by x_i, so zeros are fine)
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims  # one int, or None for all elements

    def forward(self, x):
        self.x = x
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        xp = get_array_module(grad)
        x, axis = (self.x.reshape(-1), 0) if self.axis is None else (self.x, self.axis)
        left = _shift_along(cumulative("cumprod", x, axis), axis, xp)
        right = xp.flip(_shift_along(cumulative("cumprod", xp.flip(x, axis=axis), axis), axis, xp), axis=axis)
        if self.axis is None:
            return (grad.reshape(()) * left * right).reshape(self.x.shape)
        return restore_reduced(grad, (axis,), self.keepdims) * left * right


class LogSumExp(Function):
    # z = log sum_i e^(x_i) = m + log sum_i e^(x_i - m) ;  dz/dx_i = e^(x_i - z) = softmax(x)_i
    def __init__(self, axis, keepdims=False):
        self.axis, self.keepdims = axis, keepdims  # a tuple of axes

    def forward(self, x):
        xp = get_array_module(x)
        m = x.max(axis=self.axis, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)  # a row of -inf (or an inf) must not give inf - inf = nan
        self.x = x
        with numpy.errstate(divide="ignore"):  # a row of only -inf has log(0) = -inf as its answer
            self.z = xp.log(xp.exp(x - m).sum(axis=self.axis, keepdims=True)) + m
        if self.keepdims:
            return self.z
        return self.z.reshape([n for i, n in enumerate(self.z.shape) if i not in self.axis])

    def backward(self, grad):
        return restore_reduced(grad, self.axis, self.keepdims) * get_array_module(grad).exp(self.x - self.z)


class Cumsum(Function):
    # z_i = sum_(j<=i) x_j ;  dL/dx_j = sum_(i>=j) g_i   (a cumulative sum run backwards)
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return cumulative("cumsum", x, self.axis)

    def backward(self, grad):
        xp = get_array_module(grad)
        return xp.flip(cumulative("cumsum", xp.flip(grad, axis=self.axis), self.axis), axis=self.axis)


def prod(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Product over one ``dim`` (or all elements). Notice the gradient is the product of the *other*
    elements, computed without dividing, so a zero among them gives no nan."""
    dim, keepdim = resolve_dim(dim, axis, keepdim, keepdims)
    if dim is not None:
        dim = normalize_dim(dim, x.ndim, "prod")
        if x.ndim == 0:
            dim = None
    return Prod.apply(x, axis=dim, keepdims=keepdim)


def logsumexp(x, dim, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim`` without overflow (the max is subtracted first); its gradient is the softmax."""
    x = to_floating(x)
    return LogSumExp.apply(x, axis=normalize_dims(dim, x.ndim, "logsumexp"), keepdims=keepdim)


def cumsum(x, dim):
    """Running sum along ``dim``: ``cumsum([1, 2, 3], 0)`` is ``[1, 3, 6]``."""
    axis = normalize_dim(dim, x.ndim, "cumsum")
    return Cumsum.apply(x.reshape(1) if x.ndim == 0 else x, axis=axis).reshape(x.shape)


def cumulative(name: str, x, axis: int):
    """``xp.cumsum`` or ``xp.cumprod`` (``name``) of ``x`` along ``axis``; on the host in deterministic mode.

    CuPy may run them through CUB's scan, whose float rounding changes run to run (see
    ``use_deterministic_algorithms``); NumPy's is a plain left-to-right loop.
    """
    if name not in ("cumsum", "cumprod"):
        raise ValueError(f"unknown running operation {name!r}: use 'cumsum' or 'cumprod'")
    xp = get_array_module(x)
    if xp is not numpy and are_deterministic_algorithms_enabled():
        return xp.asarray(getattr(numpy, name)(asnumpy(x), axis=axis))
    return getattr(xp, name)(x, axis=axis)
