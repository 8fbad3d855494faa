"""``einsum``: sums of products named by index letters, ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

The gradient of one operand is another einsum: the output gradient times every *other* operand,
summed down to this operand's letters. A letter that only this operand has (it was summed away
alone, as ``j`` in ``"ij->i"``) does not appear in that product; the gradient is constant along it,
so it is broadcast back. Repeated letters inside one operand (diagonals, ``"ii->i"``) are not
supported.
"""
import string

from ..core.backend import get_array_module
from ..core.tensor import Function, as_tensor, reference_tensor


def _parse(equation, ndims):
    """``(inputs, output)`` letter strings, with ``...`` spelled out as letters the equation does not use."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum: equation {equation!r} names {len(inputs)} operands, got {len(ndims)}")
    free = [c for c in string.ascii_letters if c not in equation]
    widest = max((n - len(s.replace("...", "")) for s, n in zip(inputs, ndims) if "..." in s), default=0)
    ellipsis = "".join(free[:widest])
    spelled = []
    for subs, n in zip(inputs, ndims):
        if "..." in subs:
            k = n - len(subs.replace("...", ""))
            subs = subs.replace("...", ellipsis[widest - k:] if k else "")
        if len(subs) != n:
            raise ValueError(f"einsum: operand subscripts {subs!r} name {len(subs)} axes, the operand has {n}")
        if len(set(subs)) != len(subs):
            raise ValueError(f"einsum: a letter repeated inside one operand ({subs!r}, a diagonal) is not supported")
        spelled.append(subs)
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:  # NumPy's and PyTorch's implicit output: the ellipsis, then letters used once, alphabetically
        counts = "".join(spelled)
        output = ellipsis + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ellipsis))
    for c in output:
        if not any(c in s for s in spelled):
            raise ValueError(f"einsum: output letter {c!r} appears in no operand")
    return spelled, output


def _optimize(xp, operands):
    """NumPy's einsum loops in C unless told to plan the contraction (then it uses BLAS matmuls)."""
    return {"optimize": True} if operands > 1 and xp.__name__ == "numpy" else {}


class Einsum(Function):
    # z = einsum(s_1, ..., s_n -> o) ;  dL/dx_k = einsum(o, s_j (j != k) -> s_k) of g and the other operands
    def __init__(self, inputs, output):
        self.subs, self.out = inputs, output

    def forward(self, *arrays):
        self.arrays = arrays
        xp = get_array_module(*arrays)
        return xp.einsum(",".join(self.subs) + "->" + self.out, *arrays, **_optimize(xp, len(arrays)))

    def backward(self, grad):
        xp = get_array_module(grad)
        grads = []
        for k, (subs, x) in enumerate(zip(self.subs, self.arrays)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(s, a) for j, (s, a) in enumerate(zip(self.subs, self.arrays)) if j != k]
            reachable = set(self.out).union(*[set(s) for s, _ in others])
            target = "".join(c for c in subs if c in reachable)
            equation = ",".join([self.out] + [s for s, _ in others]) + "->" + target
            gk = xp.einsum(equation, grad, *[a for _, a in others], **_optimize(xp, len(others) + 1))
            # letters this operand alone had: the gradient does not vary along them, broadcast it back
            gk = gk.reshape([gk.shape[target.index(c)] if c in target else 1 for c in subs])
            # (axes where x itself was broadcast, size 1 against larger operands, autograd sums back down)
            grads.append(xp.broadcast_to(gk, [n if m == 1 else m for m, n in zip(gk.shape, x.shape)]))
        return tuple(grads)


def einsum(equation, *operands):
    """Contract ``operands`` as ``equation`` says, as ``torch.einsum``: ``"bij,bjk->bik"`` (batched matmul),
    ``"i,i->"`` (dot), ``"ij->ji"`` (transpose), ``"bn,cn->bc"`` (every row against every class).

    Operands may also be passed as one list, as PyTorch allows. Notice the letters are only names:
    what counts is which letters repeat (summed if absent from the output) and which are kept.
    """

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    like = reference_tensor(operands)
    tensors = [as_tensor(x, like=like) for x in operands]
    inputs, output = _parse(equation, [t.ndim for t in tensors])
    return Einsum.apply(*tensors, inputs=inputs, output=output)
