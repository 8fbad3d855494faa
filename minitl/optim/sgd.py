"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

The update equations are PyTorch's (so one step matches ``torch.optim.SGD`` on the same gradients):

    g = grad + weight_decay * p                       # L2 weight decay, folded into the gradient
    buf = g  (first step)   buf = momentum * buf + (1 - dampening) * g   (later steps)
    d = g + momentum * buf  (nesterov)   d = buf  (classical momentum)   d = g  (momentum 0)
    p = p - lr_eff * d

``lr_eff`` is the group's lr times the parameter's ``lr_scale`` product (``optimizer.py``): the
scale multiplies the whole update, weight decay included. Notice that momentum is *state*: a frozen
parameter must not keep it, or it would drift on stale velocity after unfreezing — the base class
drops it. Talks to: ``optim/optimizer.py`` (the loop that calls ``_update``).
"""
from .optimizer import Optimizer, required


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    ``params``: a Module, an iterable of parameters, or param-group dicts with their own settings.
    State per parameter: ``momentum_buffer`` (same shape as the parameter) when momentum > 0.
    """

    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 warn_unknown=True):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults, warn_unknown=warn_unknown)

    def _check_group(self, group):
        super()._check_group(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {group['momentum']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {group['weight_decay']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _update(self, param, grad, state, group, lr):
        momentum, weight_decay = float(group["momentum"]), float(group["weight_decay"])
        if weight_decay != 0:
            grad = grad + weight_decay * param                     # g = grad + wd * p
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()       # buf = g on the first step
            else:
                buf *= momentum                                    # buf = m * buf + (1 - dampening) * g
                dampening = float(group["dampening"])
                buf += grad if dampening == 0 else (1.0 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        return -lr * grad                                          # p = p - lr_eff * d
