"""``Optimizer``: the base every update rule shares — param groups, the step loop, state, reports.

An optimizer holds **param groups**: dicts with a ``"params"`` list and their own hyperparameters
(``lr``, ``weight_decay``, ...), exactly as in PyTorch, so ``optimizer.param_groups[0]["lr"] = 0.01``
works and a scheduler can change it. An update rule (``SGD``, ``Adam`` below) only writes ``_update``:
given one parameter's array, its gradient, its state dict and the effective lr, return the update.

Everything the transfer-learning knobs change is read **at every** ``step()``, never cached when
the optimizer is built (chainer's ``UpdateRule`` lesson: a flag resolved at setup time is a flag
that silently stops working):

* ``frozen`` (effect 3, see ``core/module.py``): a frozen parameter (``p.frozen``) is skipped entirely —
  no update, no momentum, no weight decay, even if a gradient was left on it — and its state is
  dropped by the first ``step()`` that sees it frozen, so unfreezing it later starts from fresh
  moments (a freeze undone before any ``step()`` changes nothing). A parameter whose ``grad`` is None
  (``requires_grad = False``, PyTorch's idiom, or one that took no part in the loss) is skipped as
  PyTorch skips it: no update, no weight decay, and its state is kept for when it has a gradient again.
* ``lr_scale``: effective lr = ``group["lr"]`` (which a scheduler sets) × ``group.get("lr_scale", 1)``
  × ``effective_lr_scale(p)`` (the product of ``lr_scale`` from the parameter's module up to the
  root). It multiplies the **update**, not the gradient, so a scale of 0.1 means "move ten times
  less" under SGD and Adam. A group's ``lr_scale`` is the PyTorch-style way to say the same thing.
* a trainable parameter that received a gradient but is in no group (a head replaced after the
  optimizer was built) is a guard's business (``optim/unknown.py``, the ``unknown_parameters`` seam):
  it warns, naming it, and ``sync()`` adds it. The spine only notices that the last backward reached a
  leaf none of its groups holds, and hands over.

A group accepts only the keys its optimizer knows (``GROUP_KEYS`` plus the optimizer's defaults):
a misspelt ``"weight_decya"`` raises instead of silently doing nothing, and so does ``lr="1e-3"``
(``guards/optimizer_settings.py``, the ``param_group`` seam, checks each group as it is added).

``state_dict()`` and ``load_state_dict()`` (PyTorch's layout, checked before anything changes) are
written in ``optim/state_dict.py`` and reached through the ``optimizer_state`` seam.

What the last ``step()`` did is kept as rows (parameter, group, status, effective lr, update array):
``last_step_report()`` hands them to the report (``optim/report.py``, the ``step_report`` seam), which
computes each update's norm only when it is read. The price: the last step's update arrays stay alive
until the next step (one array the size of each trained parameter).

The update rules follow, each PyTorch's equations, mirrored line by line in ``_update``: ``SGD``
(momentum, dampening, Nesterov, L2 weight decay), ``Adam`` and ``AdamW``.
"""
import weakref
from collections.abc import Iterator

from . import backend, seams
from . import tensor as autograd
from .module import Module, effective_lr_scale, root_module, zero_grads
from .tensor import Tensor, enable_grad

required = object()  # marks a hyperparameter with no default (SGD's lr)

# Keys a param group may hold besides its optimizer's defaults: the parameters, a group-wide
# lr_scale, a label (``layerwise.param_groups``) and what the schedulers write (``lr_scheduler.py``).
GROUP_KEYS = ("params", "lr_scale", "name", "initial_lr", "max_lr", "min_lr")


_SET_MESSAGE = ("params must be an ordered collection, not a set: a set's order changes from run to run, and "
                "state_dict() numbers parameters by their order. Pass a list, or the model itself")


def _persistence():
    """``optim/state_dict.py``, plugged into the ``optimizer_state`` seam when ``minitl.optim`` is imported."""
    persistence = seams.plugged_in["optimizer_state"]
    if persistence is None:
        raise RuntimeError("saving an optimizer needs minitl.optim, which has not been imported: import minitl first")
    return persistence


class Optimizer:
    """Base class. ``params``: a Module, an iterable of parameters, or a list of param-group dicts.

    ``defaults`` fills every key a group leaves out. Subclasses implement ``_update``.
    ``warn_unknown=False`` silences the unknown-parameter check (two optimizers on one model).
    """

    def __init__(self, params, defaults, warn_unknown=True):
        self.defaults = dict(defaults)
        self.state = {}             # parameter -> its own dict (momentum buffer, Adam moments, step)
        self.param_groups = []
        self.warn_unknown = warn_unknown
        self.model_refs = []        # weak references to the models the parameters came from: names and checks
        self._warned = {}           # id(param) -> weakref: the unknown-parameter guard warns once per parameter
        self._last_step = None      # rows of the last step, for last_step_report()
        self.steps_taken = 0        # calls of step(): a scheduler warns when it is stepped before the first one

        if isinstance(params, Module):
            groups = [{"params": params}]
        elif isinstance(params, Tensor):
            raise TypeError("params must be a Module, an iterable of parameters or of param-group dicts, "
                            "not a single Tensor: wrap it in a list")
        elif isinstance(params, dict):
            groups = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            groups = list(params)
            if groups and not isinstance(groups[0], dict):
                groups = [{"params": groups}]
        if not groups:
            raise ValueError("the optimizer got an empty parameter list")
        for group in groups:
            self.add_param_group(group)

    # ----- param groups -----
    def add_param_group(self, group: dict) -> None:
        """Add a dict ``{"params": ..., "lr": ..., ...}``; missing keys come from ``defaults``.

        ``params`` may be a Module, one parameter, or an iterable of parameters; a parameter already in
        another group is refused (``guards/optimizer_settings.py``): it would be updated twice.
        """
        if not isinstance(group, dict):
            raise TypeError(f"a param group must be a dict with a 'params' key, got {type(group).__name__}")
        group = dict(group)
        params = group.get("params")
        given = params  # a Module is remembered itself too: its names come first (it may share another's layers)
        if isinstance(params, Module):
            params = list(params.parameters())
        elif isinstance(params, Tensor):
            params = [params]
        elif params is None:
            raise ValueError("a param group needs a 'params' entry")
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        group["params"] = params
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise ValueError(f"{type(self).__name__}: param group has no '{key}' and there is no default; "
                                 f"pass {key}=... to the optimizer or to the group")
            group.setdefault(key, value)
        check = seams.plugged_in["param_group"]  # a guard refuses what cannot be trained, naming it, before any change
        if check is not None:
            check(self, group)
        for module in [given] if isinstance(given, Module) else []:
            self.remember_model(module)
        for p in params:  # remember each model now: if this layer is replaced later, the model is still reachable
            if getattr(p, "owner", None) is not None:
                self.remember_model(p.owner)
        self.param_groups.append(group)

    def parameters(self) -> Iterator[Tensor]:
        """Every parameter of every group, in group order."""
        for group in self.param_groups:
            yield from group["params"]

    # ----- the step -----
    def _update(self, param, grad, state, group, lr):
        """Return the update array for one parameter (``param += update``). Subclasses define it.

        ``param`` and ``grad`` are raw arrays (NumPy or CuPy), ``state`` this parameter's dict
        (empty on its first step, or after it was frozen), ``lr`` the effective learning rate.
        """
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    def step(self, closure=None):  # -> the closure's loss, or None
        """Apply one update to every trainable parameter that has a gradient; returns closure's loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        rows, held = [], set()
        for index, group in enumerate(self.param_groups):
            for p in group["params"]:
                held.add(id(p))
                # frozen (effect 3): no update, no momentum, no weight decay. Dropping the state
                # means that unfreezing later starts from fresh moments, not stale ones.
                # BEGIN SOLUTION sgd_step
                if getattr(p, "frozen", False):  # a plain Tensor handed to the optimizer cannot be frozen
                    self.state.pop(p, None)
                    rows.append((p, index, "frozen", None, None))
                    continue
                if p.grad is None:
                    rows.append((p, index, "no grad", None, None))
                    continue
                # Read every step: a scheduler changed group["lr"], a user changed lr_scale.
                lr = float(group["lr"]) * float(group.get("lr_scale", 1.0)) * effective_lr_scale(p)
                # END SOLUTION
                state = self.state.setdefault(p, {})
                for key, value in state.items():  # model.to() after some steps moved the parameter, not its state
                    if getattr(value, "ndim", 0) > 0 and type(value) is not type(p.data):
                        state[key] = backend.to_device(value, backend.device_of(p.data))
                update = self._update(p.data, p.grad.data, state, group, lr)
                p.data += update
                rows.append((p, index, "updated", lr, update))
        self._last_step = rows
        self.steps_taken += 1
        guard = seams.plugged_in["unknown_parameters"]
        if guard is not None and self.warn_unknown:
            for leaf_id in autograd.last_leaf_ids:  # the last backward reached a leaf that no group holds
                if leaf_id not in held:
                    guard(self)
                    break
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient (``grad = None``; with ``set_to_none=False``, fill it with zeros)."""
        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def last_step_report(self):
        """What the last ``step()`` did to each parameter: status, effective lr, update norm.

        Print it to see a frozen layer moved by exactly 0 and a layer with ``lr_scale=0.1`` by less.
        """
        if self._last_step is None:
            raise RuntimeError("last_step_report(): step() has not been called yet")
        report = seams.plugged_in["step_report"]
        if report is None:
            raise RuntimeError("last_step_report() needs minitl.optim.report, which has not been imported: "
                               "import minitl first")
        return report(self, self._last_step)

    # ----- the models: a parameter does not know its name, its model does (optim/names.py asks them) -----
    def remember_model(self, module):
        """Keep a weak reference to ``module``'s model, once: the model outlives a head that is replaced."""
        root = root_module(module)
        if not any(ref() is root for ref in self.model_refs):
            self.model_refs.append(weakref.ref(root))

    # ----- saving and resuming, in PyTorch's layout: optim/state_dict.py, plugged into the optimizer_state seam -----
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices], "param_names": [...]}]}``."""
        return _persistence().save(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict()``; checked before anything changes."""
        _persistence().load(self, state_dict)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} parameters")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"


# ----- SGD -----
# ``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.
#
# The update equations are PyTorch's (so one step matches ``torch.optim.SGD`` on the same gradients):
#
#     g = grad + weight_decay * p                       # L2 weight decay, folded into the gradient
#     buf = g  (first step)   buf = momentum * buf + (1 - dampening) * g   (later steps)
#     d = g + momentum * buf  (nesterov)   d = buf  (classical momentum)   d = g  (momentum 0)
#     p = p - lr_eff * d
#
# ``lr_eff`` is the group's lr times the parameter's ``lr_scale`` product (``Optimizer.step``): the
# scale multiplies the whole update, weight decay included. Notice that momentum is *state*: a frozen
# parameter must not keep it, or it would drift on stale velocity after unfreezing — the base class
# drops it.

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

    def _update(self, param, grad, state, group, lr):
        # BEGIN SOLUTION sgd_step
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
        # END SOLUTION


# ----- Adam and AdamW -----
# ``Adam`` and ``AdamW``: per-coordinate step sizes from running moments of the gradient.
#
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
