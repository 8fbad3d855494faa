"""Cost accounting: what one training step costs, counted from shapes and read from the recorded graph.

    table = count_flops(model, (64, 1, 28, 28))    # the model as it is set up now (frozen flags)
    print(table)                                   # per layer: MACs, FLOPs, backward FLOPs, ran backward
    table.forward_macs, table.forward_flops, table.backward_flops, table.memory
    times = measure_step(model, optimizer, images, labels)   # forward / backward / step seconds
    print(cost_comparison({"frozen backbone": (fe_model, fe_opt), "full fine-tune": (ft_model, ft_opt)},
                          images, labels))         # FLOP ratio beside the measured time ratio

Counting conventions (counters in the field disagree by 2x, so every header says which):

* a **MAC** is one multiply-accumulate; **FLOPs = 2 x MACs** for conv, linear and BatchNorm.
  Conv2d: ``N * C_out * H_out * W_out * (C_in / groups) * kh * kw`` MACs; Linear: ``N * in * out``;
  BatchNorm: one MAC per output element (``y = a * x + b`` once mean, var, gamma, beta are folded).
  Biases and BatchNorm's statistics are not counted.
* ReLU-like activations: one FLOP (a comparison) per element; MaxPool: ``k*k - 1`` comparisons
  per output; AvgPool: ``k*k`` per output; global average pooling: one add per input element.
  These have no MACs. Additions between layers (ResNet's skip) are not counted.
* **backward**, per layer, from what actually ran: the input gradient costs about one forward
  (only when the layer's input requires grad, i.e. some layer below trains); the weight gradient
  costs about one forward (only when a weight of the layer got a gradient). So the first layer of a
  trainable network costs ~1x its forward in backward, a middle one ~2x, a frozen prefix 0.
  "ran backward" is read from the graph: whether the layer's output has a recorded node.

``memory`` splits the peak of a step into parameters, gradients (of trainable parameters),
optimizer state (measured from the optimizer when it has stepped, else estimated from its kind)
and the activations saved for backward (unique arrays held by the recorded graph, parameters
excluded, measured before backward frees them). ``count_flops`` leaves the model as it found it:
BatchNorm statistics and gradients are put back.
"""
import statistics
import time

import numpy

from ..core.layers import (
    AdaptiveAvgPool2d,
    Conv2d,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
    _BatchNorm,
)
from ..core.ops.loss import cross_entropy
from ..core.ops.reduce import sum as reduce_sum
from ..core.tensor import Tensor, UnneededInput
from ..nn.layers.activation import ELU, GELU, LeakyReLU
from ..nn.layers.avg_pool import AvgPool2d
from ..table import Table, TableReport

ELEMENTWISE = (ReLU, LeakyReLU, ELU, GELU, Tanh, Sigmoid)


def _kernel_area(module):
    size = module.kernel_size
    return size[0] * size[1] if isinstance(size, (tuple, list)) else size * size


def forward_counts(module, input_shape, output_shape):
    """``(macs, flops)`` of one forward of ``module`` from its input and output shapes (see the module)."""
    out = int(numpy.prod(output_shape))
    if isinstance(module, Conv2d):
        kh, kw = (module.kernel_size if isinstance(module.kernel_size, (tuple, list))
                  else (module.kernel_size, module.kernel_size))
        macs = out * (module.in_channels // module.groups) * kh * kw
        return macs, 2 * macs
    if isinstance(module, Linear):
        macs = out * module.in_features
        return macs, 2 * macs
    if isinstance(module, _BatchNorm):
        return out, 2 * out
    if isinstance(module, ELEMENTWISE):
        return 0, out
    if isinstance(module, MaxPool2d):
        return 0, out * (_kernel_area(module) - 1)
    if isinstance(module, AvgPool2d):
        return 0, out * _kernel_area(module)
    if isinstance(module, AdaptiveAvgPool2d):
        return 0, int(numpy.prod(input_shape))
    return 0, 0


class FlopTable(TableReport):
    """``rows`` (one dict per layer) and totals ``forward_macs``, ``forward_flops``, ``backward_flops``.

    Row keys: ``name``, ``type``, ``output_shape``, ``forward_macs``, ``forward_flops``,
    ``input_grad`` / ``weight_grad`` (bools: what backward computed), ``ran_backward`` (a node was
    recorded), ``backward_flops``, ``trainable`` (parameter count). ``memory``: bytes by kind.
    """

    def __init__(self, rows, input_shape, memory):
        self.rows, self.input_shape, self.memory = rows, tuple(input_shape), memory
        self.forward_macs = sum(r["forward_macs"] for r in rows)
        self.forward_flops = sum(r["forward_flops"] for r in rows)
        self.backward_flops = sum(r["backward_flops"] for r in rows)
        self.trainable_parameters = sum(r["trainable"] for r in rows)

    @property
    def step_flops(self):
        return self.forward_flops + self.backward_flops

    @property
    def ran_backward(self):
        """Names of the layers whose backward ran."""
        return [r["name"] for r in self.rows if r["ran_backward"]]

    def table(self) -> Table:
        def grads(r):
            parts = [what for what, on in (("input", r["input_grad"]), ("weight", r["weight_grad"])) if on]
            return "+".join(parts) or "-"

        body = [(r["name"], r["type"], "x".join(map(str, r["output_shape"])), f"{r['forward_macs']:,}",
                 f"{r['forward_flops']:,}", grads(r), f"{r['backward_flops']:,}", "yes" if r["ran_backward"] else "no")
                for r in self.rows if r["forward_flops"] or r["trainable"]]
        m = self.memory
        footer = [f"forward: {self.forward_macs:,} MACs = {self.forward_flops:,} FLOPs (FLOPs = 2 x MACs"
                  " for conv/linear/BN, plus comparisons/adds of activations and pooling)",
                  f"backward: {self.backward_flops:,} FLOPs; step: {self.step_flops:,} FLOPs for input "
                  f"{'x'.join(map(str, self.input_shape))}; trainable parameters: {self.trainable_parameters:,}",
                  f"memory (bytes): parameters {m['parameters']:,}, gradients {m['gradients']:,}, optimizer "
                  f"state {m['optimizer_state']:,}{' (estimated)' if m['optimizer_state_estimated'] else ''}, "
                  f"saved activations {m['activations']:,}; peak total {m['total']:,}"]
        header = ("layer", "type", "output", "fwd MACs", "fwd FLOPs", "grads computed", "bwd FLOPs", "ran backward")
        return Table(header, body, footer)


def _nbytes(array):
    return int(getattr(array, "nbytes", 0))


def saved_activation_bytes(root, parameter_ids):
    """Bytes of the distinct arrays the graph below ``root`` keeps for backward (parameters excluded)."""
    seen, total, stack, visited = set(), 0, [root], set()
    while stack:
        tensor = stack.pop()
        fn = tensor.grad_fn
        if fn is None or id(fn) in visited:
            continue
        visited.add(id(fn))
        arrays = [value for key, value in vars(fn).items() if key != "inputs" and hasattr(value, "shape")]
        # leaves the node holds (an input that needs no gradient is only named: autograd.UnneededInput)
        arrays += [t.data for t in fn.inputs or () if t is not None and not isinstance(t, UnneededInput)
                   and id(t.data) not in parameter_ids and t.grad_fn is None]
        for array in arrays:
            if id(array) not in seen and id(array) not in parameter_ids and hasattr(array, "nbytes"):
                seen.add(id(array))
                total += _nbytes(array)
        stack.extend(t for t in fn.inputs or () if t is not None and t.requires_grad)
    return total


def optimizer_state_bytes(optimizer, model):
    """``(bytes, estimated)``: what the optimizer holds now, or (before its first step) what it will hold."""
    if optimizer is None:
        return 0, True
    held = sum(_nbytes(v.data if isinstance(v, Tensor) else v) for state in optimizer.state.values()
               for v in state.values() if hasattr(v, "nbytes") or isinstance(v, Tensor))
    if held:
        return held, False
    group = optimizer.param_groups[0]
    slots = (2 + bool(group.get("amsgrad"))) if "betas" in group else int(group.get("momentum", 0) > 0)
    trainable = sum(_nbytes(p.data) for p in model.parameters() if p.requires_grad)
    return slots * trainable, True


def count_flops(model, input_shape, optimizer=None):
    """One forward and backward on zeros of ``input_shape`` (batch included), in the current frozen state.

    Returns a :class:`FlopTable`. The model is left as it was: BatchNorm buffers, gradients and
    train/eval modes are restored. ``optimizer`` (optional) fills the optimizer-state memory line.
    """
    names = {id(m): name for name, m in model.named_modules()}
    leaves = [m for m in model.modules() if not list(m.children())]
    seen = []
    handles = [m.register_forward_hook(lambda module, inputs, output: seen.append((module, inputs[0], output)))
               for m in leaves]
    buffers = {name: b.copy() for name, b in model.state_dict().items() if name not in dict(model.named_parameters())}
    grads = [(p, p.grad) for p in model.parameters()]
    params = list(model.parameters())
    device = params[0].device if params else "cpu"
    try:
        with model.mode(training=True):
            for p in model.parameters():
                p.grad = None
            output = model(Tensor(numpy.zeros(input_shape, numpy.float32), device=device))
            parameter_ids = {id(p.data) for p in model.parameters()}
            activations = saved_activation_bytes(output, parameter_ids) if output.requires_grad else 0
            if output.requires_grad:
                reduce_sum(output).backward()
        rows = []
        for module, inputs, out in seen:
            params = list(module._parameters.values())
            params = [p for p in params if p is not None]
            macs, flops = forward_counts(module, tuple(inputs.shape), tuple(out.shape))
            input_grad = bool(getattr(inputs, "requires_grad", False))
            weight_grad = any(p.grad is not None for p in params)
            backward_flops = flops * (int(input_grad) + int(weight_grad))
            if hasattr(module, "flop_counts"):  # a layer that counts itself (a LoRA layer: base + update)
                macs, backward_macs = module.flop_counts(tuple(inputs.shape), tuple(out.shape), input_grad)
                flops, backward_flops = 2 * macs, 2 * backward_macs
            rows.append({"name": names.get(id(module), type(module).__name__), "type": type(module).__name__,
                         "output_shape": tuple(out.shape), "forward_macs": macs, "forward_flops": flops,
                         "input_grad": input_grad, "weight_grad": weight_grad,
                         "ran_backward": out.grad_fn is not None,
                         "backward_flops": backward_flops,
                         "trainable": sum(int(p.data.size) for p in params if p.requires_grad)})
        parameters = sum(_nbytes(p.data) for p in model.parameters())
        gradients = sum(_nbytes(p.data) for p in model.parameters() if p.requires_grad)
        state, estimated = optimizer_state_bytes(optimizer, model)
        memory = {"parameters": parameters, "gradients": gradients, "optimizer_state": state,
                  "optimizer_state_estimated": estimated, "activations": activations,
                  "total": parameters + gradients + state + activations}
        return FlopTable(rows, input_shape, memory)
    finally:
        for handle in handles:
            handle.remove()
        for p, grad in grads:
            p.grad = grad
        model.load_state_dict(buffers, strict=False)


def measure_step(model, optimizer, inputs, targets, loss_fn=None, repeats=3, warmup=1):
    """Median seconds of ``forward``, ``backward`` and ``step`` of a real training step, apart.

    The steps change the weights; the model's and the optimizer's state are put back afterwards,
    so measuring does not train. Returns ``{"forward": s, "backward": s, "step": s, "total": s}``.
    """
    loss_fn = loss_fn or cross_entropy
    saved_model = {name: array.copy() for name, array in model.state_dict().items()}
    saved_optimizer = optimizer.state_dict()
    times = {"forward": [], "backward": [], "step": []}
    model.train()
    try:
        for attempt in range(warmup + repeats):
            optimizer.zero_grad()
            started = time.perf_counter()
            loss = loss_fn(model(inputs), targets)
            float(loss.item())  # waits for the device
            forward_done = time.perf_counter()
            loss.backward()
            backward_done = time.perf_counter()
            optimizer.step()
            step_done = time.perf_counter()
            if attempt >= warmup:
                times["forward"].append(forward_done - started)
                times["backward"].append(backward_done - forward_done)
                times["step"].append(step_done - backward_done)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad()
    result = {kind: statistics.median(values) for kind, values in times.items()}
    result["total"] = sum(result.values())
    return result


def cost_comparison(setups, inputs, targets, repeats=3):
    """``{label: (model, optimizer)}`` -> a :class:`CostComparison`: FLOPs and measured times side by side."""
    rows = []
    for label, (model, optimizer) in setups.items():
        table = count_flops(model, tuple(inputs.shape), optimizer)
        rows.append({"label": label, "flops": table, "times": measure_step(model, optimizer, inputs, targets,
                                                                            repeats=repeats)})
    return CostComparison(rows)


class CostComparison(TableReport):
    """Rows of (label, FlopTable, times); ratios are relative to the last row (e.g. the full fine-tune)."""

    def __init__(self, rows):
        self.rows = rows

    def table(self) -> Table:
        base = self.rows[-1]
        body = []
        for r in self.rows:
            t, f = r["times"], r["flops"]
            body.append((r["label"], f"{f.trainable_parameters:,}", f"{f.forward_flops / 1e6:.1f}",
                         f"{f.backward_flops / 1e6:.1f}", f"{f.step_flops / 1e6:.1f}",
                         f"{f.step_flops / base['flops'].step_flops:.2f}",
                         f"{t['forward'] * 1e3:.1f}", f"{t['backward'] * 1e3:.1f}", f"{t['step'] * 1e3:.1f}",
                         f"{t['total'] * 1e3:.1f}", f"{t['total'] / base['times']['total']:.2f}",
                         f"{f.memory['activations'] / 2**20:.2f}"))
        header = ("setup", "trainable", "fwd MFLOPs", "bwd MFLOPs", "step MFLOPs", "FLOP ratio", "fwd ms", "bwd ms",
                  "opt ms", "step ms", "time ratio", "saved act. MiB")
        note = f"FLOPs = 2 x MACs (see minitl/transfer/cost.py); ratios relative to {base['label']!r}; times: median"
        return Table(header, body, [note])
