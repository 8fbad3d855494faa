"""``clip_grad_norm_``: rescale all gradients together so their joint norm is at most ``max_norm``.

    total = || (||g_1||, ||g_2||, ...) ||_p          # the norm of all gradients as one long vector
    g_i  = g_i * min(1, max_norm / (total + 1e-6))   # every gradient scaled by the same factor

Clipping keeps the *direction* of the step and only shortens it, which is why it tames the first
noisy steps of a fresh head on a pretrained backbone. Same behaviour and return value as
``torch.nn.utils.clip_grad_norm_``.
"""
import math

from ...core import backend
from ...core.module import Module
from ...core.tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the ``.grad`` of ``parameters`` in place; return the total norm before clipping (a 0-d Tensor).

    ``parameters``: a Module, one Tensor, or an iterable of them; those with ``grad`` None are
    ignored (a frozen layer has none). ``norm_type``: any p >= 1, or ``float("inf")`` for the max.
    The returned Tensor stays on the gradients' device: call ``.item()`` when you want the number.
    """
    if isinstance(parameters, Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, Tensor):
        parameters = [parameters]
    with_grad = [p for p in parameters if p.grad is not None]
    grads = [p.grad.data for p in with_grad]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    xp = backend.get_array_module(grads[0])
    if math.isinf(norm_type):
        per_param = xp.stack([xp.max(xp.abs(g)) for g in grads])
        total = xp.max(per_param)                                        # ||g||_inf = max |g|
    else:
        per_param = xp.stack([xp.sum(xp.abs(g) ** norm_type) ** (1.0 / norm_type) for g in grads])
        total = xp.sum(per_param ** norm_type) ** (1.0 / norm_type)     # ||g||_p of the norms
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type:g}-norm of the gradients is {float(total)}; "
                           "the loss diverged or a gradient holds NaN/inf "
                           "(pass error_if_nonfinite=False to clip anyway)")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)                   # min(1, max_norm / (total + eps))
    for p in with_grad:
        # Always multiply (by 1.0 when under the limit): no branch, so no GPU sync on the value.
        p.grad.data = p.grad.data * coef.astype(p.grad.data.dtype)
    return Tensor(total, dtype=total.dtype)
