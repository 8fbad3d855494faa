"""LoadReport: the account of what a weight load did, key by key.

A load is only trustworthy if you can see it. ``load_into`` (mapping.py) fills one report and
returns it (or attaches it to the error it raises): which model keys were ``loaded``, which the file
lacked (``missing``), which file keys had no place in the model (``unexpected``), which had the
wrong shape (``mismatched``, with both shapes), which were rearranged on the way (``converted``,
with what was done), which were left out on purpose (``ignored``) and which were left out and
freshly initialised, like a new head for the target task (``replaced``). ``print(report)`` shows a
table in a stable order; a notebook cell shows the same rows as an HTML table.
"""
from ..table import Table


class LoadReport:
    """What ``load_into`` did. ``ok`` is True when every model key was filled and no file key was left over."""

    def __init__(self, source=None, target=None):
        self.source = source    # file path or format name, for the heading
        self.target = target    # model class name, for the heading
        self.loaded = []        # [name]                       model keys that received values
        self.missing = []       # [name]                       model keys the file did not provide
        self.unexpected = []    # [name]                       file keys with no model key
        self.mismatched = []    # [(name, expected, got)]      shapes as tuples
        self.converted = []     # [(name, what was done)]
        self.ignored = []       # [name]                       left out by ``ignore`` / ``key_map``
        self.replaced = []      # [(name, why)]                left out and freshly initialised (a new head)
        self.shapes = {}        # name -> shape of what was loaded (for the table)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self, include_mismatched=True) -> "list[str]":
        """One line per problem, the lines a strict load's error lists."""
        lines = [f"missing from the file: {name}" for name in self.missing]
        lines += [f"unexpected in the file: {name}" for name in self.unexpected]
        if include_mismatched:
            lines += [f"shape mismatch: {name} is {expected} in the model but {got} in the file"
                      for name, expected, got in self.mismatched]
        return lines

    def rows(self) -> "list[tuple[str, str, str]]":
        """``(status, key, detail)`` rows: problems first, then conversions, ignored and loaded keys."""
        rows = [("MISMATCHED", name, f"model {expected} vs file {got}") for name, expected, got in self.mismatched]
        rows += [("MISSING", name, "not in the file: keeps its current value") for name in self.missing]
        rows += [("UNEXPECTED", name, "no such key in the model: not used") for name in self.unexpected]
        rows += [("converted", name, what) for name, what in self.converted]
        rows += [("replaced", name, why) for name, why in self.replaced]
        rows += [("ignored", name, "left out on request") for name in self.ignored]
        rows += [("loaded", name, str(self.shapes.get(name, ""))) for name in self.loaded]
        return rows

    def summary(self) -> str:
        where = f" from {self.source}" if self.source else ""
        into = f" into {self.target}" if self.target else ""
        return (f"LoadReport{where}{into}: {len(self.loaded)} loaded, {len(self.missing)} missing, "
                f"{len(self.unexpected)} unexpected, {len(self.mismatched)} mismatched, "
                f"{len(self.converted)} converted, {len(self.ignored)} ignored"
                + (f", {len(self.replaced)} replaced" if self.replaced else ""))

    def __str__(self) -> str:
        rows = self.rows()
        key_width = max([len("key")] + [len(key) for _, key, _ in rows])
        lines = [self.summary(), f"{'status':<10}  {'key':<{key_width}}  detail",
                 f"{'-' * 10}  {'-' * key_width}  {'-' * 6}"]
        lines += [f"{status:<10}  {key:<{key_width}}  {detail}" for status, key, detail in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{self.summary()}>"

    def _repr_html_(self) -> str:
        return Table(("status", "key", "detail"), self.rows(), caption=self.summary()).html()
