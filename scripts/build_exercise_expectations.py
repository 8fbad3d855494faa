"""Store the values ``minitl check`` compares with: ``minitl/exercises/expected.npz``.

    python scripts/build_exercise_expectations.py           # compute and write them
    python scripts/build_exercise_expectations.py --check   # exit 1 if the stored values are not what minitl computes

Run from the full checkout (every exercise solved; the script refuses a student copy). It stores, for each
seeded case of ``minitl/exercises/cases.py``, the forward value of the op (float64) and, for each SGD case,
the parameter after each of its three steps. The SGD values are checked here against PyTorch's update
equations, written out below, before they are stored: the stored values are values, never code, so a
student copy holds no solution. The fast twins are switched off: the values are the reference ops'.
"""
import argparse
import pathlib
import sys

import numpy

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minitl.atomic import atomic_write  # noqa: E402
from minitl.core.layers import Linear  # noqa: E402
from minitl.core.optim import SGD  # noqa: E402
from minitl.core.tensor import Tensor, no_grad  # noqa: E402
from minitl.exercises import EXERCISES, reference_ops, stub_in_place  # noqa: E402
from minitl.exercises.cases import CASES, SGD_CASES  # noqa: E402
from minitl.exercises.checker import EXPECTED  # noqa: E402


def sgd_by_the_equations(start, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's documented algorithm, step by step: the parameter after each step."""
    p, buffer, after = start.copy(), None, []
    for t, g in enumerate(grads):
        g = g + weight_decay * p
        if momentum:
            buffer = g.copy() if t == 0 else momentum * buffer + (1 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        p = p - lr * g
        after.append(p.copy())
    return numpy.stack(after)


def compute():
    values = {}
    with reference_ops(), no_grad():
        for case in CASES:
            tensors = [Tensor(a, dtype=numpy.float64) if a.dtype.kind == "f" else Tensor(a) for a in case.inputs()]
            values[case.key] = case.forward(*tensors).numpy()
    for case in SGD_CASES:
        start, grads = case.inputs()
        layer = Linear(4, 3, bias=False, dtype=numpy.float64)
        layer.weight.data[...] = start
        optimizer, after = SGD(layer.parameters(), **case.settings), []
        for grad in grads:
            layer.weight.grad = Tensor(grad, dtype=numpy.float64)
            optimizer.step()
            after.append(layer.weight.numpy().copy())
        values[case.key] = numpy.stack(after)
        by_hand = sgd_by_the_equations(start, grads, **case.settings)
        if not numpy.allclose(values[case.key], by_hand, rtol=1e-12, atol=1e-12):
            raise SystemExit(f"{case.key}: minitl's SGD differs from the equations; fix it before storing values")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored values instead of writing")
    args = parser.parse_args()
    stubs = [name for name in EXERCISES if stub_in_place(name)]
    if stubs:
        raise SystemExit(f"still a stub: {', '.join(stubs)}; run this in the full checkout, not a student copy")
    values = compute()
    if args.check:
        with numpy.load(EXPECTED) as stored:
            differ = [key for key in values if key not in stored.files
                      or not numpy.allclose(stored[key], values[key], rtol=1e-9, atol=0)]
            extra = sorted(set(stored.files) - set(values))
        for key in differ:
            print(f"differs or missing: {key}")
        for key in extra:
            print(f"stored but no longer a case: {key}")
        return 1 if differ or extra else 0
    with atomic_write(EXPECTED) as file:
        numpy.savez_compressed(file, **values)
    print(f"wrote {EXPECTED.relative_to(ROOT)}: {len(values)} arrays, {EXPECTED.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
