"""What one training step did to each layer (``step_report``), and what the next one will do (``explain``).

    optimizer.step()
    print(minitl.inspect.step_report(model, optimizer, reference=pretrained_state))
    print(minitl.inspect.explain(model))

``step_report`` reads the optimizer's own record of the step (``optimizer.last_step_report()``:
status, effective lr, update norm per parameter) and adds what only the model knows: the gradient
norm, the weight norm, the update/weight ratio (about 1e-3 is the classic healthy value) and the
drift from a reference state_dict, ``||W - W0|| / ||W0||``. A frozen parameter shows its gradient as
"not computed" (it never existed: frozen effect 1), never as 0, and an update of exactly 0. So does a
parameter with ``requires_grad`` off (PyTorch's idiom), but its "frozen" column says "no grad", not
"yes": it is not frozen, and a BatchNorm holding it still updates its running statistics in ``train()``.
"""
import numpy

from ..core import backend
from ..core.layers import BatchNorm1d, BatchNorm2d
from ..core.module import effective_lr_scale
from ..table import Table, TableReport

NOT_COMPUTED = "not computed"


def _norm(array):
    values = backend.asnumpy(array).astype(numpy.float64)
    return float(numpy.sqrt(numpy.sum(values * values)))


class LayerStepReport(TableReport):
    """``rows``: one dict per parameter (``name``, ``layer``, ``frozen`` (bool), ``no_grad`` (``requires_grad``
    off, not frozen), ``status``, ``lr``, ``grad_norm``
    (a float, or ``"not computed"``), ``update_norm``, ``weight_norm`` (after the step), ``update_ratio``,
    ``drift`` (None without a reference))."""

    columns = ("parameter", "frozen", "effective lr", "grad norm", "update norm", "weight norm",
               "update/weight", "drift")

    def __init__(self, rows):
        self.rows = rows

    def __getitem__(self, name):
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(f"no parameter named {name!r} in this step report")

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def table(self) -> Table:
        def number(value):  # an exact 0 (a frozen layer's update) prints as 0, not as a rounded 0.000e+00
            return value if isinstance(value, str) else "-" if value is None else "0" if value == 0 else f"{value:.3e}"

        body = [[r["name"], "yes" if r["frozen"] else "no grad" if r["no_grad"] else "",
                 "-" if r["lr"] is None else f"{r['lr']:.3g}",
                 number(r["grad_norm"]), number(r["update_norm"]), number(r["weight_norm"]),
                 number(r["update_ratio"]), number(r["drift"])] for r in self.rows]
        frozen, no_grad = sum(r["frozen"] for r in self.rows), sum(r["no_grad"] for r in self.rows)
        footer = f"{len(self.rows)} parameters, {frozen} frozen (gradient not computed, update exactly 0)"
        if no_grad:
            footer += f", {no_grad} no grad (requires_grad off, not frozen)"
        return Table(self.columns, body, footer=[footer])


def drift(model, reference):
    """``{name: ||v - v0|| / ||v0||}`` for each entry of ``model.state_dict()`` that ``reference`` (a state_dict)
    holds: parameters, and buffers such as BatchNorm's running statistics.

    How far training moved each array from where it started, relative to its size; None where ``v0`` is 0.
    """
    drifts = {}
    for name, value in model.state_dict().items():
        if name in reference:
            v0 = backend.asnumpy(reference[name]).astype(numpy.float64)
            base = _norm(v0)
            drifts[name] = _norm(backend.asnumpy(value).astype(numpy.float64) - v0) / base if base else None
    return drifts


def step_report(model, optimizer, reference=None):
    """After ``optimizer.step()``: per parameter of ``model``, what the step did. ``reference``: a state_dict."""
    by_name = {row["name"]: row for row in optimizer.last_step_report()}
    drifts = drift(model, reference) if reference is not None else {}
    rows = []
    for name, p in model.named_parameters():
        step = by_name.get(name)
        frozen, no_grad = p.frozen, not p.frozen and not p.requires_grad
        weight_norm = _norm(p.data)
        update_norm = step["update_norm"] if step else 0.0
        rows.append({
            "name": name, "layer": name.rsplit(".", 1)[0] if "." in name else "", "frozen": frozen,
            "no_grad": no_grad,
            "status": step["status"] if step else "not in optimizer", "lr": step["lr"] if step else None,
            "grad_norm": NOT_COMPUTED if frozen or p.grad is None else _norm(p.grad.data),
            "update_norm": update_norm, "weight_norm": weight_norm,
            "update_ratio": update_norm / weight_norm if weight_norm else None, "drift": drifts.get(name),
        })
    return LayerStepReport(rows)


def _layers(model):
    """(path, module) for each module that holds parameters of its own, in definition order."""
    return [(name, m) for name, m in model.named_modules() if any(p is not None for p in m._parameters.values())]


def explain(model, optimizer=None, print_text=True) -> str:
    """For each layer, in words, what its ``frozen`` flag and ``lr_scale`` do in the next step.

    With ``optimizer``, the effective learning rate is given as a number (group 0's lr times the scales).
    """
    lines, trainable_below = [], False
    base_lr = float(optimizer.param_groups[0]["lr"]) if optimizer is not None else None
    for name, layer in _layers(model):
        label = name or type(model).__name__
        norm = isinstance(layer, (BatchNorm1d, BatchNorm2d))
        params = [p for p in layer._parameters.values() if p is not None]
        optimizer_name = type(optimizer).__name__ if optimizer is not None else "the optimizer"
        live_stats = ("BatchNorm uses batch statistics and updates its running ones" if layer.training
                      else "BatchNorm uses running statistics (eval mode)")  # what an unfrozen BatchNorm does
        if layer.frozen:
            parts = ["frozen — no gradient"]
            # frozen (effect 2) holds only while nothing below this layer is trainable
            parts.append("gradients pass through to the trainable layers below, but none is kept here"
                         if trainable_below else "no graph recorded")
            parts.append("skipped by " + optimizer_name)
            if norm:
                parts.append("BatchNorm uses running statistics")
        elif not any(p.requires_grad for p in params):
            parts = ["no grad (requires_grad off, not frozen) — no gradient, so " + optimizer_name
                     + " has nothing to apply"]
            if norm:
                parts.append(live_stats)  # requires_grad does not decide this, frozen does (effect 4)
        else:
            trainable_below = True
            scale = effective_lr_scale(params[0])
            lr = f"lr {base_lr * scale:.3g}" if base_lr is not None else "the optimizer's lr"
            parts = [f"trainable — gets a gradient, updated with {lr}"
                     + (f" (lr_scale product {scale:g})" if scale != 1.0 else "")]
            if norm:
                parts.append(live_stats)
        lines.append(f"{label}: " + ", ".join(parts))
    text = "\n".join(lines)
    if print_text:
        print(text)
    return text
