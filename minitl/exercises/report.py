"""``CheckReport``: what ``minitl check`` found, one row a check; a text table in a terminal, HTML in a notebook."""
from dataclasses import dataclass

from ..table import Table, TableReport

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


class CheckReport(TableReport):
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

    def table(self) -> Table:
        """The rows, the summary lines under them, and which minitl was checked above (its caption)."""
        return Table(HEADER, [row.cells() for row in self.rows], footer=self.summary(), caption=self.checked or None)
