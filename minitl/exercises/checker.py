"""``minitl check``: test the exercises in the code that is imported, never a stored solution.

What each kind of exercise is checked with:

* an op's backward (``mul``, ``matmul``, ``linear``, ``relu``, ``sum``, ``unbroadcast``, ``log_softmax``,
  ``cross_entropy``, ``conv2d``, ``max_pool2d``): its gradients against float64 finite differences of the
  imported forward, on the seeded cases of ``cases.py``, and that forward's values against the stored
  ``expected.npz`` (so a forward changed to agree with a wrong backward is caught too);
* the autograd exercises (``recording_rule``, ``topological_order``) and the layers and optimizer
  (``batchnorm_frozen``, ``sgd_step``): behaviour — a frozen prefix records no node, gradients on a
  graph with a diamond are right, a frozen parameter moves by exactly 0, ``lr_scale`` scales the update,
  the SGD steps match the values stored from three steps of every setting, a frozen BatchNorm uses its
  running statistics and leaves them as they were.

A stub still in place is found in the imported function itself (its code holds the stub's message), and
its exercise gets one loud FAIL row. A check that runs into another exercise's stub says which one to
write first. The fast twins of the reference ops (``minitl/fast``) are switched off while checking
(``reference_ops``), so the checked code is always the reference a student wrote, never a twin that
stands in for it. Used by the ``check`` command (``command.py``) and ``minitl.check``.
"""
import contextlib
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy

from ..core import seams
from ..core import tensor as autograd
from ..core.layers import BatchNorm2d, Linear, ReLU, Sequential
from ..core.ops.arithmetic import exp
from ..core.optim import SGD
from ..core.tensor import Tensor, no_grad
from ..gradcheck import finite_difference_gradients
from .cases import CASES, SGD_CASES
from .regions import stub_message
from .report import CheckReport, CheckRow

EXPECTED = Path(__file__).with_name("expected.npz")
GRADIENT_TOLERANCE = 1e-6  # finite differences in float64 agree with a right backward to about 1e-9
FORWARD_TOLERANCE = 1e-9  # the same float64 arithmetic on the same inputs, up to the BLAS's summation order
STUB = re.compile(r"exercise: (\w+) —")


@dataclass(frozen=True)
class Exercise:
    name: str
    places: tuple  # (module, qualified name) of each function that holds one of its regions
    hint: str  # what a failing check most often means

    def where(self) -> str:
        return ", ".join(f"{qualname} in {module.replace('.', '/')}.py" for module, qualname in self.places)


EXERCISES = {e.name: e for e in [
    Exercise("recording_rule", (("minitl.core.tensor", "Function.apply"),),
             "record a node only when grad mode is on and at least one input requires grad"),
    Exercise("topological_order", (("minitl.core.tensor", "_topological_order"),),
             "outputs before inputs: a tensor goes into the order once all of its consumers are in; no recursion"),
    Exercise("unbroadcast", (("minitl.core.tensor", "unbroadcast"),),
             "the gradient of a broadcast input is a sum: sum over the leading axes broadcasting added and over "
             "the axes where the input had size 1, then reshape to the input's shape"),
    Exercise("mul", (("minitl.core.ops.arithmetic", "Mul.backward"),),
             "z = x * y: dL/dx = g * y and dL/dy = g * x (check the signs and which operand goes where)"),
    Exercise("sum", (("minitl.core.ops.reduce", "Sum.backward"),),
             "every summed element gets the output's gradient: put the reduced axes back (size 1) and broadcast "
             "g to the input's shape"),
    Exercise("matmul", (("minitl.core.ops.linalg", "MatMul.backward"),),
             "Z = X @ Y: dL/dX = G @ Y^T, dL/dY = X^T @ G; a 1-D operand is a row (left) or a column (right)"),
    Exercise("linear", (("minitl.core.ops.linalg", "Linear.backward"),),
             "y = x W^T + b: dL/dx = g W, dL/dW = g^T x over all rows, dL/db = g summed over all rows"),
    Exercise("relu", (("minitl.core.ops.activation", "ReLU.backward"),),
             "the gradient passes where the input was positive and is 0 elsewhere (the mask saved in forward)"),
    Exercise("log_softmax", (("minitl.core.ops.activation", "LogSoftmax.backward"),),
             "dL/dx = g - softmax(x) * sum(g) along the axis; softmax(x) = exp(z) of the saved output"),
    Exercise("cross_entropy", (("minitl.core.ops.loss", "WeightedNLL.backward"),),
             "loss = -sum q * log_p: dL/dlog_p = -q * g, divided by the divisor for the mean; for 'none', g has "
             "one entry per sample"),
    Exercise("conv2d", (("minitl.core.ops.conv", "Conv2d.backward"),),
             "dW = G @ columns^T, db = G summed over N, H, W, dx = col2im(W^T @ G); per group"),
    Exercise("max_pool2d", (("minitl.core.ops.pool", "MaxPool2d.backward"),),
             "each window's gradient goes to the one input that won it (self.winner), added where windows overlap"),
    Exercise("sgd_step", (("minitl.core.optim", "Optimizer.step"), ("minitl.core.optim", "SGD._update")),
             "skip frozen parameters and those without a gradient; lr = group lr x group lr_scale x the "
             "parameter's effective_lr_scale; then weight decay, momentum (dampening, Nesterov), -lr * step"),
    Exercise("batchnorm_frozen", (("minitl.core.layers", "_BatchNorm.forward"),),
             "batch statistics only when training and not frozen (or with no running statistics); the stored "
             "frozen flag decides, not requires_grad"),
]}


# ----- the imported code: stubs, and the reference ops -----

def _function(module_name, qualname):
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def exercise_op(name: str):
    """The reference op (a ``Function`` class) whose method holds the exercise, or None (``Optimizer.step``, ...)."""
    module, qualname = EXERCISES[name].places[0]
    owner = _function(module, qualname.split(".")[0])
    is_op = isinstance(owner, type) and issubclass(owner, autograd.Function) and owner is not autograd.Function
    return owner if is_op else None


def _constants(code):
    """Every constant of a code object and of the code nested in it (a lambda, a comprehension)."""
    for constant in code.co_consts:
        if hasattr(constant, "co_consts"):
            yield from _constants(constant)
        else:
            yield constant


def stub_in_place(name: str) -> bool:
    """True while one of the exercise's functions, as imported, still holds its stub."""
    message = stub_message(name)
    return any(message in _constants(_function(*place).__code__) for place in EXERCISES[name].places)


@contextlib.contextmanager
def reference_ops():
    """Switch the fast twins off (``seams.fast_paths``) for the ``with`` block: every op runs its reference."""
    saved = dict(seams.fast_paths)
    seams.fast_paths.clear()
    try:
        yield
    finally:
        seams.fast_paths.clear()
        seams.fast_paths.update(saved)


# ----- one row: run a check, catch what it raises -----

def _row(exercise, check, body):
    """Run ``body() -> (error or None, passed, hint)`` into a row; an exception is a FAIL that says what it was."""
    hint = EXERCISES[exercise].hint
    try:
        error, passed, note = body()
    except NotImplementedError as stub:
        found = STUB.search(str(stub))
        if found is None:
            return CheckRow(exercise, check, None, False, f"NotImplementedError: {stub}")
        other = found.group(1)
        if other == exercise:
            return CheckRow(exercise, check, None, False, f"still a stub: {exercise}")
        return CheckRow(exercise, check, None, False, f"needs {other} first (still a stub: {other})")
    except Exception as error:  # noqa: BLE001 - a student's bug can raise anything; the row says what
        return CheckRow(exercise, check, None, False, f"{type(error).__name__}: {error}; {hint}")
    return CheckRow(exercise, check, error, passed, note or hint)


def _relative(actual, expected):
    """max |actual - expected| over the largest magnitude of either (0 when both are all zeros)."""
    actual, expected = numpy.asarray(actual, dtype=numpy.float64), numpy.asarray(expected, dtype=numpy.float64)
    scale = max(float(numpy.abs(expected).max(initial=0)), float(numpy.abs(actual).max(initial=0)))
    return float(numpy.abs(actual - expected).max(initial=0)) / scale if scale else 0.0


def _tensors(arrays):
    """Float arrays become float64 leaves that require grad; integer ones (class targets) plain tensors."""
    return [Tensor(a, dtype=numpy.float64, requires_grad=True) if a.dtype.kind == "f" else Tensor(a) for a in arrays]


# ----- the op exercises -----

def _forward_values(exercise, expected):
    def body():
        worst = 0.0
        for case in [c for c in CASES if c.exercise == exercise]:
            if case.key not in expected:
                return None, False, f"no stored values for {case.key!r}: run scripts/build_exercise_expectations.py"
            with no_grad():
                out = case.forward(*_tensors(case.inputs()))
            if out.shape != expected[case.key].shape:
                return None, False, (f"{case.label}: the forward gives shape {out.shape}, expected "
                                     f"{expected[case.key].shape}: the forward changed; put it back as it was")
            worst = max(worst, _relative(out.numpy(), expected[case.key]))
        passed = worst <= FORWARD_TOLERANCE
        return worst, passed, None if passed else "the forward changed: the exercise is the backward; put the " \
                                                  "forward back as it was"
    return body


def _gradients(case):
    def body():
        worst = 0.0
        for i, analytic, numeric in finite_difference_gradients(case.forward, _tensors(case.inputs())):
            if analytic.shape != numeric.shape:
                return None, False, (f"the gradient of input {i} has shape {analytic.shape}, the input has shape "
                                     f"{numeric.shape}; {EXERCISES[case.exercise].hint}")
            worst = max(worst, _relative(analytic, numeric))
        return worst, worst <= GRADIENT_TOLERANCE, None
    return body


def _op_rows(exercise, expected):
    rows = [_row(exercise, "forward values (all cases)", _forward_values(exercise, expected))]
    for case in CASES:
        if case.exercise == exercise:
            rows.append(_row(exercise, f"gradient: {case.label}", _gradients(case)))
    return rows


# ----- autograd -----

def _graph_nodes(out):
    """Every node (Function) recorded behind ``out``."""
    nodes, stack, seen = [], [out], set()
    while stack:
        fn = getattr(stack.pop(), "grad_fn", None)
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(fn)
        stack.extend(inp for inp in fn.inputs if inp is not None)
    return nodes


def _frozen_prefix_model():
    model = Sequential(Linear(4, 3, dtype=numpy.float64), ReLU(), Linear(3, 2, dtype=numpy.float64))
    model[0].frozen = True
    x = Tensor(numpy.random.default_rng(0).standard_normal((5, 4)), dtype=numpy.float64)
    return model, x


def _records_no_frozen_node():
    model, x = _frozen_prefix_model()
    nodes = _graph_nodes(model(x))
    names = [fn.name for fn in nodes]
    passed = len(nodes) == 1
    return None, passed, None if passed else (f"the graph holds {len(nodes)} nodes ({', '.join(names) or 'none'}); "
                                              "with the first layer frozen only the head's LinearBackward belongs "
                                              "there: below it no input requires grad")


def _frozen_parameters_get_no_gradient():
    model, _ = _frozen_prefix_model()
    # built of indexing, exp and + (no op that is itself an exercise): a frozen weight and the head's
    out = exp(model[0].weight[:2, :1]) + exp(model[2].weight[:, :1])
    out.backward(numpy.ones((2, 1)))
    frozen_grads = [p.grad is not None for p in model[0].parameters()]
    head_grads = [model[2].weight.grad is not None]
    passed = not any(frozen_grads) and all(head_grads)
    return None, passed, None if passed else (f"after backward: frozen layer gradients {frozen_grads}, head "
                                              f"gradients {head_grads} (expected none, and all)")


def _no_grad_records_nothing():
    x = Tensor(numpy.ones(3), dtype=numpy.float64, requires_grad=True)
    with no_grad():
        y = exp(x)
    passed = y.grad_fn is None and not y.requires_grad
    return None, passed, None if passed else "under no_grad() an op recorded a node: grad mode is off there"


def _input_that_needs_grad_is_recorded():
    x = Tensor(numpy.ones(3), dtype=numpy.float64, requires_grad=True)
    constant = Tensor(numpy.ones(3), dtype=numpy.float64)
    recorded, unrecorded = exp(x), exp(constant)
    passed = recorded.grad_fn is not None and recorded.requires_grad and unrecorded.grad_fn is None
    return None, passed, None if passed else ("exp(x) with x.requires_grad must record a node; exp(c) with no "
                                              "input requiring grad must not")


def _diamond(x):
    """Paths of different lengths meet at ``a`` and ``b``: an order that handles ``a`` too early loses a share."""
    a = exp(x)
    b = exp(-a)
    c = a + b
    d = exp(-c)
    return b + (a + d)  # a depth-first order that marks a tensor when pushed, not when expanded, puts a before c


def _order_is_topological():
    x = Tensor(numpy.array([0.1, -0.2, 0.3]), dtype=numpy.float64, requires_grad=True)
    y = _diamond(x)
    order = autograd._topological_order(y)
    position = {id(t): i for i, t in enumerate(order)}
    reachable, stack = set(), [y]
    while stack:
        tensor = stack.pop()
        if id(tensor) in reachable:
            continue
        reachable.add(id(tensor))
        if tensor.grad_fn is not None:
            stack.extend(i for i in tensor.grad_fn.inputs if i is not None and i.requires_grad)
    if len(position) != len(order) or set(position) != reachable:
        return None, False, (f"the order holds {len(order)} entries ({len(position)} distinct), the graph "
                             f"{len(reachable)} tensors: each tensor once, every one reachable from the output")
    for tensor in order:
        for inp in (tensor.grad_fn.inputs if tensor.grad_fn is not None else ()):
            if inp is not None and inp.requires_grad and position[id(inp)] < position[id(tensor)]:
                return None, False, ("an input comes before a tensor made from it: its gradient would be used "
                                     "before every share of it arrived")
    return None, True, None


def _long_chain():
    x = Tensor(numpy.zeros(2), dtype=numpy.float64, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward(numpy.ones(2))
    return _relative(x.grad.numpy(), numpy.ones(2)), bool(numpy.array_equal(x.grad.numpy(), numpy.ones(2))), None


# ----- the optimizer -----

def _sgd_steps(case, expected):
    def body():
        if case.key not in expected:
            return None, False, f"no stored values for {case.key!r}: run scripts/build_exercise_expectations.py"
        start, grads = case.inputs()
        layer = Linear(4, 3, bias=False, dtype=numpy.float64)
        layer.weight.data[...] = start
        optimizer = SGD(layer.parameters(), **case.settings)
        after = []
        for grad in grads:
            layer.weight.grad = Tensor(grad, dtype=numpy.float64)
            optimizer.step()
            after.append(layer.weight.numpy().copy())
        error = _relative(numpy.stack(after), expected[case.key])
        return error, error <= FORWARD_TOLERANCE, None
    return body


def _twin_layers():
    """Two identical float64 layers, each with the same gradient on its weight."""
    rng = numpy.random.default_rng(1)
    weight, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    layers = [Linear(4, 3, bias=False, dtype=numpy.float64) for _ in range(2)]
    for layer in layers:
        layer.weight.data[...] = weight
        layer.weight.grad = Tensor(grad, dtype=numpy.float64)
    return layers, weight


def _lr_scale_scales_the_update():
    (plain, scaled), weight = _twin_layers()
    outer = Sequential(scaled)
    outer.lr_scale, scaled.lr_scale = 0.5, 0.5  # the effective scale is the product up the tree: 0.25
    SGD([plain.weight, scaled.weight], lr=0.1, momentum=0.9, weight_decay=0.01).step()
    ratio = (scaled.weight.numpy() - weight) / (plain.weight.numpy() - weight)
    return _relative(ratio, numpy.full_like(ratio, 0.25)), bool(numpy.allclose(ratio, 0.25, rtol=1e-9)), None


def _group_lr_scale():
    (plain, scaled), weight = _twin_layers()
    SGD([{"params": [plain.weight]}, {"params": [scaled.weight], "lr_scale": 0.1}], lr=0.1).step()
    ratio = (scaled.weight.numpy() - weight) / (plain.weight.numpy() - weight)
    return _relative(ratio, numpy.full_like(ratio, 0.1)), bool(numpy.allclose(ratio, 0.1, rtol=1e-9)), None


def _frozen_moves_by_zero():
    (layer, _), weight = _twin_layers()
    optimizer = SGD(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    optimizer.step()  # a step before freezing leaves a momentum buffer behind
    before = layer.weight.numpy().copy()
    layer.frozen = True  # frozen after the optimizer was built, with a stale gradient still on the weight
    layer.weight.grad = Tensor(numpy.ones((3, 4)), dtype=numpy.float64)
    optimizer.step()
    moved = float(numpy.abs(layer.weight.numpy() - before).max())
    state_left = bool(optimizer.state.get(layer.weight))
    passed = moved == 0.0 and not state_left
    return moved, passed, None if passed else (f"a frozen weight moved by up to {moved:.3g} or kept its optimizer "
                                               f"state ({state_left}): skip it, and drop its state")


def _no_gradient_not_moved():
    (layer, _), weight = _twin_layers()
    layer.weight.grad = None
    SGD(layer.parameters(), lr=0.1, weight_decay=0.1).step()
    moved = float(numpy.abs(layer.weight.numpy() - weight).max())
    return moved, moved == 0.0, None if moved == 0.0 else "a weight without a gradient moved (weight decay alone?)"


# ----- BatchNorm -----

def _batchnorm(frozen=False, requires_grad=True, training=True):
    rng = numpy.random.default_rng(2)
    bn = BatchNorm2d(3, dtype=numpy.float64)
    bn.running_mean.data[...] = rng.standard_normal(3)
    bn.running_var.data[...] = rng.uniform(0.5, 2.0, 3)
    bn.weight.data[...] = rng.standard_normal(3)
    bn.bias.data[...] = rng.standard_normal(3)
    bn.train(training)
    if frozen:
        bn.frozen = True
    if not requires_grad:
        for p in bn.parameters():
            p.requires_grad = False
    x = rng.standard_normal((4, 3, 2, 2)) * 2 + 1
    return bn, x


def _normalised(x, mean, var, bn):
    shape = (1, -1, 1, 1)
    return ((x - mean.reshape(shape)) / numpy.sqrt(var.reshape(shape) + bn.eps) * bn.weight.numpy().reshape(shape)
            + bn.bias.numpy().reshape(shape))


def _bn_uses_running_statistics(**settings):
    def body():
        bn, x = _batchnorm(**settings)
        mean, var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
        y = bn(Tensor(x, dtype=numpy.float64)).numpy()
        error = _relative(y, _normalised(x, mean, var, bn))
        return error, error <= FORWARD_TOLERANCE, None
    return body


def _bn_frozen_leaves_statistics():
    bn, x = _batchnorm(frozen=True)
    before = [bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(), bn.num_batches_tracked.numpy().copy()]
    bn(Tensor(x, dtype=numpy.float64))
    after = [bn.running_mean.numpy(), bn.running_var.numpy(), bn.num_batches_tracked.numpy()]
    passed = all(numpy.array_equal(a, b) for a, b in zip(before, after))
    return None, passed, None if passed else "a frozen BatchNorm changed its running statistics (or their count)"


def _bn_uses_batch_statistics(**settings):
    def body():
        bn, x = _batchnorm(**settings)
        mean, var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
        y = bn(Tensor(x, dtype=numpy.float64)).numpy()
        batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        n = x.size // x.shape[1]
        error = max(_relative(y, _normalised(x, batch_mean, batch_var, bn)),
                    _relative(bn.running_mean.numpy(), 0.9 * mean + 0.1 * batch_mean),
                    _relative(bn.running_var.numpy(), 0.9 * var + 0.1 * batch_var * n / (n - 1)))
        return error, error <= FORWARD_TOLERANCE, None
    return body


def _behaviour_rows(name, expected):
    checks = {
        "recording_rule": [
            ("a frozen prefix records no node", _records_no_frozen_node),
            ("frozen parameters get no gradient", _frozen_parameters_get_no_gradient),
            ("no_grad() records nothing", _no_grad_records_nothing),
            ("an input that requires grad is recorded", _input_that_needs_grad_is_recorded),
        ],
        "topological_order": [
            ("outputs before inputs on a diamond", _order_is_topological),
            ("gradient: a diamond (paths of different lengths)", _gradients(_DIAMOND)),
            ("a 5,000-op chain (no recursion limit)", _long_chain),
        ],
        "sgd_step": [(f"three steps: {case.label}", _sgd_steps(case, expected)) for case in SGD_CASES] + [
            ("lr_scale scales the update (0.5 x 0.5)", _lr_scale_scales_the_update),
            ("a group's lr_scale scales the update", _group_lr_scale),
            ("a frozen parameter moves by exactly 0", _frozen_moves_by_zero),
            ("a parameter without gradient does not move", _no_gradient_not_moved),
        ],
        "batchnorm_frozen": [
            ("frozen, train(): running statistics used", _bn_uses_running_statistics(frozen=True)),
            ("frozen, train(): running statistics unchanged", _bn_frozen_leaves_statistics),
            ("eval(): running statistics used", _bn_uses_running_statistics(training=False)),
            ("train(): batch statistics, running ones updated", _bn_uses_batch_statistics()),
            ("requires_grad=False only, train(): batch statistics", _bn_uses_batch_statistics(requires_grad=False)),
        ],
    }[name]
    return [_row(name, label, body) for label, body in checks]


@dataclass(frozen=True)
class _DiamondCase:
    exercise: str = "topological_order"
    label: str = "diamond"

    @staticmethod
    def inputs():
        return (numpy.array([0.1, -0.2, 0.3]),)

    @staticmethod
    def forward(x):
        return _diamond(x)


_DIAMOND = _DiamondCase()


# ----- the command -----

def _load_expected():
    if not EXPECTED.is_file():
        return {}
    with numpy.load(EXPECTED) as stored:
        return {key: stored[key] for key in stored.files}


def check(*names) -> CheckReport:
    """Check the named exercises (none named: all of them) in the imported code; returns the report.

    ``minitl.check("conv2d")`` in a notebook shows the table; ``report.passed`` says whether all passed.
    """
    unknown = [name for name in names if name not in EXERCISES]
    if unknown:
        raise ValueError(f"no exercise named {', '.join(map(repr, unknown))}; the exercises are "
                         f"{', '.join(EXERCISES)} (`minitl exercises list`)")
    expected = _load_expected()
    rows, stubs = [], []
    with reference_ops():
        for name in names or EXERCISES:
            if stub_in_place(name):
                stubs.append(name)
                rows.append(CheckRow(name, "stub replaced by code", None, False,
                                     f"still a stub: {name} ({EXERCISES[name].where()})"))
                continue
            if any(case.exercise == name for case in CASES):
                rows += _op_rows(name, expected)
            else:
                rows += _behaviour_rows(name, expected)
    package = Path(__file__).resolve().parent.parent
    return CheckReport(rows, stubs, checked=f"checked: the minitl at {package} (fast twins off while checking)")
