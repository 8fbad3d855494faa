"""``CheckReport``: what ``minitl check`` found, one row a check; a text table in a terminal, HTML in a notebook."""
import html
from dataclasses import dataclass

from ..table import text_table

HEADER = ("exercise", "check", "max rel. error", "result", "hint")


@dataclass(frozen=True)
class CheckRow:
    exercise: str
    check: str
    error: float = None  # None where the check measures no error (a behaviour, a stub, an exception)
    passed: bool = False
    hint: str = ""

    def cells(self):
        error = "-" if self.error is None else f"{self.error:.1e}"
        return (self.exercise, self.check, error, "pass" if self.passed else "FAIL", "" if self.passed else self.hint)


class CheckReport:
    """The rows of one ``check`` run; ``passed`` is True only when every row passed.

    ``stubs`` names the exercises whose stub is still in place (each also has a FAIL row saying so).
    ``str(report)`` is the table ``minitl check`` prints; a notebook shows ``_repr_html_``.
    """

    def __init__(self, rows, stubs=(), checked=""):
        self.rows, self.stubs, self.checked = list(rows), list(stubs), checked  # checked: which minitl, said first

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def failed_exercises(self) -> list:
        """The exercises with at least one failed check, in table order."""
        return list(dict.fromkeys(row.exercise for row in self.rows if not row.passed))

    def summary(self) -> list:
        """The lines under the table: the count, and one loud line per stub still in place."""
        passed = sum(row.passed for row in self.rows)
        exercises = list(dict.fromkeys(row.exercise for row in self.rows))
        failed = self.failed_exercises()
        lines = [f"{passed} of {len(self.rows)} checks pass; exercises: {len(exercises) - len(failed)} pass, "
                 f"{len(failed)} FAIL" + (f" ({', '.join(failed)})" if failed else "")]
        lines += [f"still a stub: {name} — write it, then run: python -m minitl check {name}" for name in self.stubs]
        return lines

    def __str__(self):
        table = text_table(HEADER, [row.cells() for row in self.rows], footer=self.summary())
        return f"{self.checked}\n{table}" if self.checked else table

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in HEADER)
        body = []
        for row in self.rows:
            colour = "#1a7f37" if row.passed else "#cf222e"
            cells = [html.escape(cell) for cell in row.cells()]
            cells[3] = f'<b style="color:{colour}">{cells[3]}</b>'
            body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        summary = "".join(f"<p>{html.escape(line)}</p>" for line in self.summary())
        checked = f"<p>{html.escape(self.checked)}</p>" if self.checked else ""
        return f"{checked}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{summary}"
