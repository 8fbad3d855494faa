"""The step viewer: run one real training step and write one self-contained HTML page that replays it.

    minitl.inspect.view_step(model, x, y, optimizer, path="step.html")
    minitl view-step --model smallcnn --freeze-to 2 --out step.html        (the same from the shell)

The page has three panels, all filled from what the engine recorded (a JSON blob inside the page;
JavaScript only lays it out and steps through it, it computes no number):
  1. forward: each layer as a box with its output shape and a summary of its activations;
  2. backward: node by node (Next / Previous, or the arrow keys), the gradient arriving and leaving,
     its norm, the op's local formula; layers that ran no backward (a frozen prefix) are greyed and
     say "not computed" — never a fake 0;
  3. update: per parameter the effective lr, gradient norm, update norm and update/weight ratio,
     and the loss on the same batch before and after the update.
``preset`` shows only some panels for a lesson ("forward", "backward", "update", or a tuple of them).
The seed and settings of the step are stored in the page, with checksums of the batch and of the
weights before the step, so the same step can be re-created exactly.

In a notebook, ``view_step(...)`` as a cell's value shows the viewer in the cell (``StepView``: an iframe of
the same page, its ids prefixed for this call); where HTML is not shown, its text says where the file is
and what the step did.
"""
import hashlib
import json
import math
import uuid

import numpy

from ..atomic import atomic_write
from ..core import backend
from ..core.layers import BatchNorm1d, BatchNorm2d
from ..core.module import effective_lr_scale
from ..core.ops.loss import cross_entropy
from ..core.random import manual_seed
from ..core.tensor import no_grad
from ..version import __version__
from .report import NOT_COMPUTED, step_report
from .trace import array_stats, trace
from .viewer_page import inline_frame, render_page

RUNNING_STATISTICS = ("frozen BatchNorm: normalises with its running statistics (the mean and variance learned in "
                      "pretraining), not this batch's, and leaves them unchanged (frozen effect 4)")
EVAL_STATISTICS = "BatchNorm in eval mode: normalises with its running statistics, not this batch's"
BIAS_BEFORE_BATCHNORM = ("gradient ~0: a BatchNorm in training mode follows and subtracts each channel's batch mean, "
                         "so a constant added before it cancels out; the BatchNorm's shift (beta) does this bias's job")


def _batchnorm_note(module):
    if not isinstance(module, (BatchNorm1d, BatchNorm2d)):
        return ""
    return RUNNING_STATISTICS if module.frozen else "" if module.training else EVAL_STATISTICS


def biases_cancelled_by_batchnorm(model):
    """Names of conv/linear biases followed directly by a BatchNorm that uses batch statistics (in a Sequential):
    their gradient is zero up to round-off."""
    names = {id(module): name for name, module in model.named_modules()}
    found = []
    for module in model.modules():
        children = list(module.children())
        for layer, after in zip(children, children[1:]):
            if getattr(layer, "bias", None) is not None and isinstance(after, (BatchNorm1d, BatchNorm2d)) \
                    and after.training and not after.frozen:
                found.append(f"{names[id(layer)]}.bias")
    return found


def _lr_text(optimizer, model, name, effective):
    """``"0.01 x 0.1 = 0.001"``: the group's lr (schedule included) times the parameter's lr_scale."""
    if effective is None:
        return "-"
    param = dict(model.named_parameters())[name]
    group_lr = next(float(g["lr"]) for g in optimizer.param_groups if any(p is param for p in g["params"]))
    return f"{group_lr:.3g} x {effective_lr_scale(param):.3g} = {effective:.3g}"

PANELS = ("forward", "backward", "update")


def _sha256(arrays):
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(numpy.ascontiguousarray(backend.asnumpy(array)).tobytes())
    return digest.hexdigest()


def _shape(shape):
    return "scalar" if len(shape) == 0 else "(" + ", ".join(str(n) for n in shape) + ")"


def _json_safe(value):
    """``value`` with NaN / infinity written as text (JSON has no such numbers) and tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not numpy.isfinite(value):
        return str(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _number(value):
    return NOT_COMPUTED if isinstance(value, str) else "-" if value is None else "0" if value == 0 else f"{value:.3e}"


def _activation_summary(array):
    stats = array_stats(array)
    zeros = float(backend.asnumpy((array == 0).mean())) if array.size else 0.0
    mean = float(backend.asnumpy(array.astype("float64").mean())) if array.size else 0.0
    return {"mean": mean, "norm": stats["norm"], "min": stats["min"], "max": stats["max"], "zeros": zeros,
            "text": f"mean {mean:.3g}, min {stats['min']:.3g}, max {stats['max']:.3g}, zeros {zeros:.0%}"}


def _settings(model, x, y, optimizer, seed, loss_fn):
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    return {
        "seed": seed, "model": type(model).__name__, "model_config": getattr(model, "config", None),
        "training_mode": bool(model.training), "optimizer": type(optimizer).__name__,
        "hyperparameters": {k: v for k, v in group.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "loss": getattr(loss_fn, "__name__", type(loss_fn).__name__),
        "input_shape": list(x.shape), "input_dtype": str(x.dtype), "labels": backend.asnumpy(y.data).tolist(),
        "input_sha256": _sha256([x.data]), "weights_sha256_before": _sha256(model.state_dict().values()),
        "frozen_parameters": [n for n, p in model.named_parameters() if p.frozen],
        "no_grad_parameters": [n for n, p in model.named_parameters() if not p.frozen and not p.requires_grad],
        "lr_scales": {n or type(model).__name__: m.lr_scale for n, m in model.named_modules()
                      if m.lr_scale is not None},
        "minitl_version": __version__,
        "recreate": "minitl.manual_seed(seed); the same model weights (checksum above), the same batch "
                    "(checksum above), the same optimizer settings; then one forward, backward and step",
    }


def record_step(model, x, y, optimizer, loss_fn=None, seed=0):
    """Run one training step (forward, backward, ``optimizer.step()``) and return everything the page shows."""
    loss_fn = loss_fn or cross_entropy
    settings = _settings(model, x, y, optimizer, seed, loss_fn)
    layers = [(name, m) for name, m in model.named_modules() if name and not m._modules]
    forward, handles = [], []
    for name, module in layers:
        def hook(m, inputs, out, name=name):
            forward.append({"path": name, "type": type(m).__name__, "output_shape": list(out.shape),
                            "frozen": bool(m.frozen), "recorded": bool(out.requires_grad),
                            "summary": _activation_summary(out.data), "note": _batchnorm_note(m)})
        handles.append(module.register_forward_hook(hook))
    try:
        manual_seed(seed)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
    finally:
        for handle in handles:
            handle.remove()
    with trace() as t:
        loss.backward()
    optimizer.step()
    report = step_report(model, optimizer)
    buffers = [(b, b.data.copy()) for b in model.buffers()]
    with no_grad():  # the same batch, same mode and seed, after the update; BatchNorm statistics put back
        manual_seed(seed)
        loss_after = loss_fn(model(x), y)
    for buffer, saved in buffers:
        buffer.data = saved

    ran = {s["module"] for s in t.steps}
    backward_layers = []
    for entry in reversed(forward):
        path = entry["path"]
        if path in ran:
            status = "ran"
            text = "backward ran" + (" (frozen: passes the gradient on, keeps none)" if entry["frozen"] else "")
        else:
            status = NOT_COMPUTED
            text = f"{NOT_COMPUTED}: " + ("frozen, no node recorded" if entry["frozen"]
                                          else "nothing below needs a gradient, no node recorded")
        backward_layers.append({"path": path, "type": entry["type"], "status": status, "text": text})
    steps = []
    for s in t.steps:
        sent = []
        for i in s["inputs"]:
            label = i["role"] + (f" ({i['parameter']})" if i["parameter"] else "")
            if i["grad"]:
                g = i["grad"]
                text = f"norm {g['norm']:.3e}, min {g['min']:.3g}, max {g['max']:.3g}"
            else:
                text = f"{NOT_COMPUTED} ({i['status']})"
            sent.append({"label": f"{label} {_shape(i['shape'])}", "text": text, "computed": bool(i["grad"])})
        g = s["grad_output"]
        steps.append({"op": s["op"], "module": s["module"] or "(no layer: the loss)", "formula": s["formula"],
                      "output_shape": list(s["output_shape"]), "shape": _shape(s["output_shape"]),
                      "saved": f"{s['saved_bytes']:,} bytes",
                      "arriving": f"norm {g['norm']:.3e}, min {g['min']:.3g}, max {g['max']:.3g}",
                      "grad_norm": g["norm"], "sent": sent})
    cancelled = set(biases_cancelled_by_batchnorm(model))
    update = [{"name": r["name"], "frozen": r["frozen"], "lr": _lr_text(optimizer, model, r["name"], r["lr"]),
               "note": BIAS_BEFORE_BATCHNORM if r["name"] in cancelled and not r["frozen"] else "",
               "grad_norm": _number(r["grad_norm"]), "update_norm": _number(r["update_norm"]),
               "weight_norm": _number(r["weight_norm"]), "ratio": _number(r["update_ratio"])} for r in report]
    return {"settings": settings, "forward": forward, "backward": steps, "backward_layers": backward_layers,
            "update": update, "loss_before": f"{float(loss.item()):.6f}",
            "loss_after": f"{float(loss_after.item()):.6f}", "trace": t, "step_report": report}


class StepView(dict):
    """What ``view_step`` returns: the record of the step (a dict, as ``record_step`` makes it) that shows itself.

    As a notebook cell's value it is the viewer, inline (``_repr_html_``: an iframe of the page, ids prefixed
    with ``id_prefix``, unique to this call); ``repr`` is the text for where HTML is not shown (a terminal, an
    untrusted notebook): the file's path and what the step did. ``page``: the inline page's HTML.
    """

    def __init__(self, record, data_json, path, panels):
        super().__init__(record)
        self.path, self.panels = path, panels
        self.id_prefix = f"minitl-step-{uuid.uuid4().hex[:12]}-"
        self.page = render_page(data_json, self.id_prefix)

    def summary_lines(self):
        frozen = len(self["settings"]["frozen_parameters"])
        where = f"written to {self.path}: open it in a browser" if self.path is not None else "not written (path=None)"
        return [f"step viewer of one training step of {self['settings']['model']}, {where}",
                f"loss {self['loss_before']} before the update, {self['loss_after']} after it (same batch); "
                f"{len(self['backward'])} backward nodes ran; {len(self['update'])} parameters, {frozen} frozen"]

    def frame_height(self) -> int:
        """Pixels for the iframe: about what the shown panels take at a notebook's width (it scrolls past that)."""
        height = 110  # header, settings line
        if "forward" in self.panels:
            height += 90 + 80 * math.ceil(len(self["forward"]) / 5)
        if "backward" in self.panels:
            height += 110 + max(300, 44 * len(self["backward_layers"]))
        if "update" in self.panels:
            height += 110 + 27 * len(self["update"])
        return min(height, 1600)

    def __repr__(self):
        return "\n".join(self.summary_lines())

    def _repr_html_(self):
        return inline_frame(self.page, self.frame_height(), title=self.summary_lines()[0],
                            caption=" ".join(self.summary_lines()))


def view_step(model, x, y, optimizer, path="step.html", loss_fn=None, preset=None, seed=0, title=None):
    """Run one real training step on ``(x, y)`` and write the page replaying it to ``path``; returns the record
    as a ``StepView`` (a dict that a notebook shows as the viewer itself).

    ``preset``: None (every panel), a panel name, or a tuple of them (``"forward"``, ``"backward"``, ``"update"``).
    """
    panels = PANELS if preset is None else (preset,) if isinstance(preset, str) else tuple(preset)
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(f"view_step: unknown preset panel(s) {unknown}; choose from {', '.join(PANELS)}")
    record = record_step(model, x, y, optimizer, loss_fn, seed)
    data = {k: v for k, v in record.items() if k not in ("trace", "step_report")}
    data["panels"] = list(panels)
    data["title"] = title or f"One training step of {record['settings']['model']}"
    data_json = json.dumps(_json_safe(data), allow_nan=False)
    if path is not None:
        with atomic_write(path) as file:
            file.write(render_page(data_json).encode("utf-8"))
    return StepView(record, data_json, path, panels)
