"""``summary()``: a Keras-style table of a model, with what freezing and ``lr_scale`` do to it.

One row per layer (modules without children): output shape for a given input shape, parameter
count, how many of those are trainable, whether it is frozen, and its effective ``lr_scale``.
Frozen parameters count as non-trainable (effect 5 of ``frozen``, see ``core/module.py``), and so do
parameters with ``requires_grad`` off: the totals say how much of the model the optimizer will
actually move. The "frozen" column tells the two apart: "yes" (frozen: BatchNorm keeps its running
statistics) or "no grad" (PyTorch's ``requires_grad = False``: a BatchNorm in ``train()`` still moves them).

``summarize(model, input_shape)`` works on any Module, and ``Module.summary(input_shape)`` (Keras'
spelling) calls it through the ``summary`` seam (``core/seams.py``): the spine imports no wing.
"""
import numpy

from ..core import backend, seams
from ..core.module import effective_lr_scale
from ..core.tensor import Tensor, no_grad
from ..progress import notebook_display
from ..table import Table, TableReport


def frozen_column(parameters) -> str:
    """What the "frozen" column of ``summary``, ``describe`` and the step report says about ``parameters``.

    "yes" (all frozen), "no" (all train), "no grad" (``requires_grad`` off but not frozen: PyTorch's
    idiom, which a BatchNorm in ``train()`` ignores), "partly" (a mix), "" (no parameters).
    """
    states = {"yes" if p.frozen else "no" if p.requires_grad else "no grad" for p in parameters}
    if len(states) > 1:
        return "partly"
    return states.pop() if states else ""


class Summary(TableReport):
    """The data behind the table: ``rows`` (list of dicts) and the three totals."""

    columns = ("name", "type", "output shape", "params", "trainable", "frozen", "lr_scale")

    def __init__(self, rows, total, trainable):
        self.rows = rows
        self.total_params = total
        self.trainable_params = trainable
        self.non_trainable_params = total - trainable

    def table(self) -> Table:
        """The table ``print`` shows and a notebook displays (``_repr_html_``): the same cells in both."""
        rows = [(r["name"], r["type"], str(r["output_shape"]), f"{r['params']:,}", f"{r['trainable']:,}",
                 "" if r["state"] == "no" else r["state"], "" if r["lr_scale"] is None else f"{r['lr_scale']:g}")
                for r in self.rows]
        return Table(self.columns, rows, footer=[f"Total params: {self.total_params:,}",
                                                 f"Trainable params: {self.trainable_params:,}",
                                                 f"Non-trainable params: {self.non_trainable_params:,}"])


def batched_input_shape(model, input_shape):
    """``input_shape`` with a batch axis of 1 in front if it has none: ``(1, 28, 28)`` -> ``(1, 1, 28, 28)``.

    Both forms are accepted wherever a model's input shape is asked for (``summary()``, the CLI's
    ``--input-shape``). The model's first convolution tells the rank it takes (Conv2d: N, C, H, W;
    Conv1d: N, C, L); without one, a single number is a feature count and gets the batch axis.
    """
    shape = tuple(int(n) for n in input_shape)
    first_conv = next((m for m in model.modules() if type(m).__name__ in ("Conv2d", "Conv1d")), None)
    if first_conv is None:
        return (1,) + shape if len(shape) == 1 else shape
    rank = 4 if type(first_conv).__name__ == "Conv2d" else 3
    if len(shape) == rank - 1:
        return (1,) + shape
    if len(shape) != rank:
        layout = "(C, H, W) or (N, C, H, W)" if rank == 4 else "(C, L) or (N, C, L)"
        raise ValueError(f"input shape {shape} does not fit {type(model).__name__}, whose first layer is a "
                         f"{type(first_conv).__name__}: give {layout}")
    return shape


def summarize(model, input_shape, device=None, dtype=numpy.float32, print_table=None):
    """Run one forward pass of zeros of ``input_shape`` (with or without the batch axis) and tabulate.

    ``print_table``: True prints the table, False does not; None prints it except in a Jupyter kernel, where
    the returned ``Summary`` is the cell's value and shows itself as an HTML table (printed too, it would
    show twice)."""
    input_shape = batched_input_shape(model, input_shape)
    shapes, handles = {}, []
    layers = [(name, m) for name, m in model.named_modules() if name and not m._modules]
    for name, module in layers:
        handles.append(module.register_forward_hook(
            lambda m, i, out, name=name: shapes.__setitem__(name, tuple(out.shape))))
    first = next(model.parameters(), None)
    device = device or (first.device if first is not None else backend.default_device())
    try:
        # eval: BatchNorm on a batch of zeros must not touch running statistics
        with model.mode(training=False), no_grad():
            model(Tensor(numpy.zeros(input_shape), dtype=dtype, device=device))
    finally:
        for h in handles:
            h.remove()

    rows, seen = [], set()
    for name, module in layers:
        params = [p for p in module._parameters.values() if p is not None and id(p) not in seen]
        seen.update(id(p) for p in params)
        count = sum(p.numel() for p in params)
        rows.append({
            "name": name,
            "type": type(module).__name__,
            "output_shape": shapes.get(name, "-"),
            "params": count,
            "trainable": sum(p.numel() for p in params if p.requires_grad),
            "frozen": bool(params) and module.frozen,
            "state": frozen_column(params),  # "yes", "no", "no grad", "partly" or "" (frozen_column above)
            "lr_scale": effective_lr_scale(params[0]) if params else None,
        })
    all_params = list(model.parameters())
    total = sum(p.numel() for p in all_params)
    # frozen (effect 5): not trainable (a frozen parameter never requires grad; a "no grad" one is not trained either)
    trainable = sum(p.numel() for p in all_params if p.requires_grad)
    report = Summary(rows, total, trainable)
    if print_table or (print_table is None and notebook_display() is None):
        print(report)
    return report


seams.plug("summary", summarize)  # Module.summary() calls it
