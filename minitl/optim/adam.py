"""``Adam`` and ``AdamW``: update rules with per-coordinate step sizes from running moments of the gradient.

Each is an ``Optimizer`` (``core/optim.py``) that writes only ``_update``, as the spine's ``SGD`` does, so
``frozen`` and ``lr_scale`` act on them exactly as on SGD.
"""
from ..core import backend
from ..core.optim import Optimizer

# PyTorch's equations, step t = 1, 2, ... (one step matches ``torch.optim.Adam`` / ``AdamW``):
#
#     g = grad + weight_decay * p                      # Adam only: L2 decay enters the moments
#     p = p - lr_eff * weight_decay * p                # AdamW only: decoupled decay, outside the moments
#     m = beta1 * m + (1 - beta1) * g                  # first moment (mean of g)
#     v = beta2 * v + (1 - beta2) * g^2                # second moment (mean of g squared)
#     v_max = max(v_max, v)                            # amsgrad only; then v_max replaces v below
#     p = p - lr_eff / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#
# What a student should notice: the step divides by sqrt(v), so multiplying the *gradient* by 0.1
# would change nothing (m and sqrt(v) both shrink by 0.1). That is why ``lr_scale`` multiplies the
# learning rate (``lr_eff``), i.e. the update: a layer with ``lr_scale = 0.1`` moves ten times less
# under Adam too. And the difference between the two classes: Adam's weight decay is divided by
# sqrt(v) like any gradient (large-gradient weights are barely decayed); AdamW's is not.

class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), and ``max_exp_avg_sq``
    with amsgrad; the arrays have the parameter's shape.
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 warn_unknown=True):
        betas = tuple(betas) if isinstance(betas, list) else betas  # a wrong type is named by _check_group
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults, warn_unknown=warn_unknown)

    def _update(self, param, grad, state, group, lr):
        xp = backend.get_array_module(param)
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay, eps = float(group["weight_decay"]), float(group["eps"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]

        decay = None
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                decay = (-lr * weight_decay) * param               # AdamW: p -= lr_eff * wd * p
            else:
                grad = grad + weight_decay * param                 # Adam: g = grad + wd * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1                                                 # m = b1 * m + (1 - b1) * g
        m += (1.0 - beta1) * grad
        v *= beta2                                                 # v = b2 * v + (1 - b2) * g^2
        v += (1.0 - beta2) * (grad * grad)
        if group["amsgrad"]:
            v_max = state.get("max_exp_avg_sq")
            if v_max is None:  # amsgrad switched on after the first step: start the max here
                v_max = state["max_exp_avg_sq"] = v.copy()
            xp.maximum(v_max, v, out=v_max)                        # v_max = max(v_max, v)
            v = v_max
        step_size = lr / (1.0 - beta1 ** t)
        denom = xp.sqrt(v) / ((1.0 - beta2 ** t) ** 0.5) + eps     # sqrt(v_hat) + eps
        update = (-step_size) * (m / denom)
        return update if decay is None else update + decay


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``.

    Adam with *decoupled* weight decay (Loshchilov & Hutter): the weights shrink by
    ``lr_eff * weight_decay`` each step, independently of the gradient's moments.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 warn_unknown=True):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         warn_unknown=warn_unknown)
