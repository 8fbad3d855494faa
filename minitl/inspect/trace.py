"""The backward trace: every node that ``backward()`` ran, in the order it ran, as data and as a table.

    with minitl.inspect.trace() as t:
        loss.backward()
    t.table()          # one line per node: op, module, shapes, bytes saved, gradient norms
    t.steps[0]         # the same as plain data (dicts of numbers, strings and tuples)
    t.step(3)          # one node in full, with its local derivative as a one-line formula
    t.replay()         # node after node (waits for Enter only in a terminal)

Each step holds: ``op`` (``"LinearBackward"``), ``module`` (the dotted path of the innermost layer
whose output the node made; ``""`` outside any layer, e.g. the loss), ``output_shape``,
``saved_bytes`` (arrays the op kept for backward), ``grad_output`` (norm / min / max of the
gradient arriving at the node), ``inputs`` (per input: its role in the op, its shape, its
parameter name if it is one, and either the statistics of the gradient sent to it or why none
was sent: ``"frozen"``, ``"no grad"`` (a parameter with ``requires_grad`` off, not frozen) or
``"needs none"``) and ``formula``.

What a student should notice: a frozen prefix does not show up at all. Its layers recorded no
node (frozen effect 2), so backward never went there; the first trainable layer lists the tensor
coming from below as "needs none".
"""
import inspect as _python_inspect
import sys
import weakref

from ..core import backend, seams
from ..core.module import root_module
from ..core.tensor import UnneededInput, unbroadcast
from ..table import Table
from .formula import local_formula
from .names import module_path, parameter_name


def array_stats(array):
    """``{"norm", "min", "max"}`` of an array as Python floats (reads the value: a GPU synchronises)."""
    xp = backend.get_array_module(array)
    values = array.astype("float64") if array.dtype.kind == "f" else array
    return {"norm": float(backend.asnumpy(xp.sqrt(xp.sum(values * values)))),
            "min": float(backend.asnumpy(values.min())) if values.size else 0.0,
            "max": float(backend.asnumpy(values.max())) if values.size else 0.0}


def saved_bytes(fn) -> int:
    """Bytes of the arrays an op kept on itself for backward (each array once)."""
    seen, total = set(), 0
    for value in fn.__dict__.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if hasattr(item, "nbytes") and hasattr(item, "dtype") and id(item) not in seen:
                seen.add(id(item))
                total += int(item.nbytes)
    return total


def _input_roles(fn, count):
    """The names of the op's forward arguments (``x``, ``weight``, ``bias``), ``input2`` past the named ones."""
    try:
        params = list(_python_inspect.signature(type(fn).forward).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"input{i}" for i in range(count)]


def _short(number):
    return f"{number:.3e}"


COLUMN_LEGEND = [
    "columns: op = the backward node (the forward op it differentiates); module = the layer whose output it made "
    "('-': outside any layer, e.g. the loss);",
    "  saved bytes = arrays the op kept from the forward for this backward; |grad in| = norm of g = dL/d(output), "
    "the gradient arriving;",
    "  |grad sent| = norm of dL/d(input) for each input that needs one (the vector-Jacobian product of g with the "
    "op's local derivative);",
    "  no gradient = inputs sent none, and why: frozen (a frozen parameter) or needs none (nothing below it learns)",
]


class Trace:
    """Records backward nodes while its ``with`` block runs. ``steps``: the list of recorded nodes."""

    def __init__(self):
        self.steps = []
        self._previous = None
        self._models = {}  # id -> weak reference to each model a recorded node belongs to, in order of appearance

    def __enter__(self):
        self._previous = seams.plug("backward_node", self._record)
        return self

    def __exit__(self, *exc):
        seams.plug("backward_node", self._previous)
        return False

    def _record(self, fn, grad_output, grad_inputs):
        if self._previous is not None:  # an outer trace records too
            self._previous(fn, grad_output, grad_inputs)
        if fn.module is not None:
            model = root_module(fn.module)
            self._models.setdefault(id(model), weakref.ref(model))
        inputs = []
        roles = _input_roles(fn, len(fn.inputs))
        for role, tensor, needed, grad in zip(roles, map(UnneededInput.live, fn.inputs),
                                              fn.needs_input_grad, grad_inputs):
            if tensor is None:  # an optional input not given (no bias)
                continue
            entry = {"role": role, "shape": tuple(tensor.shape), "parameter": parameter_name(tensor)}
            if role.startswith("input") and entry["parameter"]:  # BatchNorm's ``*params``: say "weight"
                entry["role"] = entry["parameter"].rsplit(".", 1)[-1]
            if needed and grad is not None:
                entry["grad"] = array_stats(unbroadcast(grad, tensor.shape))
                entry["status"] = "sent"
            else:
                entry["grad"] = None
                entry["status"] = ("frozen" if getattr(tensor, "frozen", False) else
                                   "no grad" if entry["parameter"] is not None else "needs none")
            inputs.append(entry)
        self.steps.append({
            "index": len(self.steps), "op": fn.name, "module": module_path(fn.module),
            "output_shape": tuple(grad_output.shape), "saved_bytes": saved_bytes(fn),
            "grad_output": array_stats(grad_output), "inputs": inputs, "formula": local_formula(type(fn)),
        })

    def __len__(self):
        return len(self.steps)

    def frozen_parameters(self):
        """Names of every frozen parameter of the model(s) that backward ran through (no gradient computed).

        Notice the frozen prefix: its layers recorded no node, so no step mentions them; they are found by
        asking the model, not the steps. ``used_frozen_parameters()``: the ones a recorded node read.
        """
        names = [name for ref in self._models.values() if ref() is not None
                 for name, p in ref().named_parameters() if not p.requires_grad]
        return list(dict.fromkeys(names + self.used_frozen_parameters()))

    def used_frozen_parameters(self):
        """Names of the frozen parameters that recorded nodes used (a frozen head, a frozen layer mid-model)."""
        names = [i["parameter"] for s in self.steps for i in s["inputs"] if i["status"] == "frozen"]
        return list(dict.fromkeys(names))

    def table(self, print_table=True) -> str:
        """One line per node, in execution order; printed, and returned as text (a notebook cell showing
        the trace itself gets the same table as HTML)."""
        text = str(self._table())
        if print_table:
            print(text)
        return text

    def _table(self) -> Table:
        rows = []
        for s in self.steps:
            sent = ", ".join(f"{i['role']} {_short(i['grad']['norm'])}" for i in s["inputs"] if i["grad"])
            skipped = ", ".join(f"{i['role']} ({i['status']})" for i in s["inputs"] if not i["grad"])
            rows.append([str(s["index"]), s["op"], s["module"] or "-", str(s["output_shape"]),
                         f"{s['saved_bytes']:,}", _short(s["grad_output"]["norm"]), sent or "-", skipped or "-"])
        used = self.used_frozen_parameters()
        unreached = [name for name in self.frozen_parameters() if name not in used]
        footer = [f"{len(self.steps)} backward nodes ran, in this order (the reverse of the forward)"]
        if used:
            footer.append(f"frozen parameters used but given no gradient: {', '.join(used)}")
        if unreached:
            footer.append(f"frozen parameters no recorded node used (a frozen prefix: backward never went there): "
                          f"{', '.join(unreached)}")
        return Table(["#", "op", "module", "output shape", "saved bytes", "|grad in|", "|grad sent|", "no gradient"],
                     rows, footer=footer + COLUMN_LEGEND)

    def step(self, index, print_step=True) -> str:
        """One node in full: where it sits, the formula of its local derivative, each gradient's statistics."""
        s = self.steps[index]
        g = s["grad_output"]
        arriving = f"norm {_short(g['norm'])}, min {g['min']:.3g}, max {g['max']:.3g}"
        lines = [f"step {s['index'] + 1} of {len(self.steps)}: {s['op']} in {s['module'] or '(no module)'}",
                 f"  local derivative: {s['formula'] or '(no formula comment)'}",
                 f"  gradient arriving {s['output_shape']}: {arriving}",
                 f"  saved for backward: {s['saved_bytes']:,} bytes"]
        for i in s["inputs"]:
            label = i["role"] + (f" = {i['parameter']}" if i["parameter"] else "")
            if i["grad"]:
                lines.append(f"  -> {label} {i['shape']}: norm {_short(i['grad']['norm'])}, "
                             f"min {i['grad']['min']:.3g}, max {i['grad']['max']:.3g}")
            else:
                lines.append(f"  -> {label} {i['shape']}: not computed ({i['status']})")
        text = "\n".join(lines)
        if print_step:
            print(text)
        return text

    def replay(self, stream=None):
        """Print the nodes one at a time; in a terminal wait for Enter between them (``q`` stops)."""
        interactive = stream is None and sys.stdin.isatty() and sys.stdout.isatty()
        out = stream or sys.stdout
        for index in range(len(self.steps)):
            out.write(self.step(index, print_step=False) + "\n")
            last = index + 1 == len(self.steps)
            if interactive and not last and input("Enter: next node, q: stop ").strip().lower() == "q":
                break

    def __repr__(self):
        return f"Trace({len(self.steps)} backward nodes)"

    def _repr_html_(self):
        return self._table().html()


def trace():
    """``with minitl.inspect.trace() as t: loss.backward()`` records every backward node into ``t``."""
    return Trace()
