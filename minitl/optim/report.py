"""What one optimizer step did, as data a student can print: ``StepReport`` and ``SyncReport``.

``optimizer.last_step_report()`` answers "did my frozen layer really not move, and did the layer
with ``lr_scale = 0.1`` really move less?" with one row per parameter: its name, whether it was
updated or skipped (frozen / no grad), the effective learning rate used, and the norm of the update.

The optimizer keeps the last step's rows (with each update array); the norms are computed only when
the report is read, so an unread report costs nothing. It plugs into the spine's ``step_report`` seam.
"""
import functools

from ..core import backend, seams
from ..table import Table, TableReport
from .state_dict import parameter_names


def _norm(update):
    """||update|| as one BLAS pass (vdot flattens; no squared copy), read to the host."""
    xp = backend.get_array_module(update)
    return float(backend.asnumpy(xp.sqrt(xp.vdot(update, update))))


class StepReport(TableReport):
    """Per parameter: ``name``, ``group``, ``status`` ("updated", "frozen", "no grad"), ``lr``, ``update_norm``.

    ``report.rows`` is a list of dicts; ``report["head.weight"]`` is one row; ``print(report)`` a table.
    A skipped parameter has ``lr`` None and ``update_norm`` exactly 0.0.
    """

    def __init__(self, raw_rows, name_source):
        self._raw = raw_rows            # (param, group index, status, lr, update array or None)
        self._name_source = name_source
        self._rows = None

    @property
    def rows(self):
        if self._rows is None:
            names = self._name_source()
            self._rows = [
                {"name": names[id(p)], "group": group, "status": status, "lr": lr,
                 "update_norm": _norm(update) if status == "updated" else 0.0}
                for p, group, status, lr, update in self._raw
            ]
            self._raw = None  # the report no longer keeps the parameters alive
        return self._rows

    def __getitem__(self, name):
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(f"no parameter named {name!r} in this step report; names: "
                       f"{', '.join(r['name'] for r in self.rows)}")

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def table(self) -> Table:
        body = [[r["name"], str(r["group"]), r["status"], "-" if r["lr"] is None else f"{r['lr']:.3g}",
                 f"{r['update_norm']:.3e}"] for r in self.rows]
        return Table(["parameter", "group", "status", "effective lr", "update norm"], body)


class SyncReport:
    """What ``optimizer.sync()`` changed: ``added`` and ``removed`` parameter names."""

    def __init__(self, added, removed):
        self.added, self.removed = list(added), list(removed)

    def __bool__(self):
        return bool(self.added or self.removed)

    def __str__(self):
        lines = [f"added to group 0: {', '.join(self.added) or 'nothing'}",
                 f"removed (no longer in the model): {', '.join(self.removed) or 'nothing'}"]
        return "\n".join(lines)

    __repr__ = __str__


# last_step_report(): the names are worked out only when the report is read
seams.plug("step_report", lambda optimizer, rows: StepReport(rows, functools.partial(parameter_names, optimizer)))
