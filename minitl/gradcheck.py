"""Finite-difference gradient checking: the test every op in minitl passes, and yours can too.

For each input element, nudge it by +eps and -eps and measure how the output moves:
``(f(x + eps) - f(x - eps)) / (2 eps)`` approximates the derivative with error O(eps^2). Compare that
with what ``backward`` computed. Work in float64: in float32 the rounding error of f swamps eps.
The nudged forwards run under ``no_grad``: they build no graph, so checking costs only forwards.
"""
import numpy

from .core.backend import asnumpy, get_array_module
from .core.tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic gradient of an input differs from the finite-difference estimate."""


def _scalar_projection(out, weights):
    return float(asnumpy((out.data * weights)).sum())


def finite_difference_gradients(fn, inputs, eps=1e-6, seed=0):
    """``[(i, analytic, numeric)]`` for each input Tensor ``i`` with ``requires_grad=True``, as NumPy arrays.

    ``analytic`` is what ``backward`` left in ``inputs[i].grad`` (zeros where it left None; its own shape,
    which a wrong backward may have got wrong), ``numeric`` the central differences of ``fn``. A
    non-scalar output is projected onto fixed random weights, so one backward checks the whole
    Jacobian-vector product. ``gradcheck`` and the exercise checker (``minitl check``) compare the two.
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != numpy.float64:
            raise TypeError(f"gradcheck input {i} is {inputs[i].dtype}; use float64 (dtype='float64')")
        inputs[i].grad = None

    out = fn(*inputs)
    xp = get_array_module(out.data)
    rng = numpy.random.default_rng(seed)
    weights = xp.asarray(rng.standard_normal(out.shape))
    out.backward(Tensor._wrap(weights.astype(out.dtype)))

    pairs = []
    for i in checked:
        x = inputs[i]
        analytic = asnumpy(x.grad.data) if x.grad is not None else numpy.zeros(x.shape)
        numeric = numpy.zeros(x.shape)
        for index in numpy.ndindex(*x.shape):  # by multi-index: works for transposed (non-contiguous) data too
            original = x.data[index].item()
            with no_grad():  # the nudged forwards only need values: record no node, save no activation
                x.data[index] = original + eps
                plus = _scalar_projection(fn(*inputs), weights)
                x.data[index] = original - eps
                minus = _scalar_projection(fn(*inputs), weights)
            x.data[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        pairs.append((i, analytic, numeric))
    return pairs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check ``fn``'s backward against central differences; True or a ``GradcheckError``.

    ``inputs``: Tensors (float64; those with ``requires_grad=True`` are checked) or other values
    passed through. A non-scalar output is projected onto fixed random weights, so one backward
    checks the whole Jacobian-vector product. The error names the input and its worst element.
    """
    for i, analytic, numeric in finite_difference_gradients(fn, inputs, eps, seed):
        if analytic.shape != numeric.shape:
            raise GradcheckError(f"gradient of input {i} has shape {analytic.shape}, the input has shape "
                                 f"{numeric.shape}")
        error = numpy.abs(analytic - numeric)
        allowed = atol + rtol * numpy.abs(numeric)
        if (error > allowed).any():
            worst = numpy.unravel_index(numpy.argmax(error - allowed), numeric.shape)
            raise GradcheckError(
                f"gradient of input {i} (shape {numeric.shape}) is wrong at index {tuple(int(w) for w in worst)}: "
                f"backward gave {analytic[worst]:.8g}, finite differences {numeric[worst]:.8g} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True
