"""Solution regions and their stubs: how an exercise is cut out of the spine.

A region is the lines between ``# BEGIN SOLUTION <name>`` and ``# END SOLUTION`` (the markers nbgrader and
Otter read too; Otter keeps what follows ``BEGIN SOLUTION`` on its line, so the name rides there). In a
student copy each region becomes one line at the marker's indentation,

    raise NotImplementedError("exercise: <name> — check it with: minitl check <name>")

so the file still imports and the first call into the missing code says which exercise it is. A name may
mark several regions (``sgd_step``: the step loop and SGD's update rule); all of them are cut together.
Used by ``student_copy.py`` (which writes the copy) and ``checker.py`` (which recognises a stub).
"""
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?P<name>.*)$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Region:
    """One marked region of one file: ``begin`` and ``end`` are the 0-based lines of its two markers."""

    name: str
    path: str
    begin: int
    end: int
    indent: str
    body: tuple  # the solution lines between the markers


def stub_message(name: str) -> str:
    """What a stub raises: the exercise's name and the command that checks it."""
    return f"exercise: {name} — check it with: minitl check {name}"


def stub_line(name: str, indent: str) -> str:
    return f'{indent}raise NotImplementedError("{stub_message(name)}")'


def find_regions(text: str, path: str) -> list:
    """The regions of one file's ``text``, in order; ValueError naming ``path`` and the line of a bad marker."""
    regions, open_at, lines = [], None, text.split("\n")
    for number, line in enumerate(lines):
        begin = BEGIN.match(line)
        if begin:
            if open_at is not None:
                raise ValueError(f"{path}:{number + 1}: BEGIN SOLUTION inside the region opened at line "
                                 f"{open_at[0] + 1}; close it with '# END SOLUTION' first")
            name = begin.group("name").strip()
            if not NAME.fullmatch(name):
                raise ValueError(f"{path}:{number + 1}: a solution region needs a name after BEGIN SOLUTION "
                                 f"(lowercase letters, digits, _), got {name!r}: the stub and `minitl check` use it")
            open_at = (number, name, begin.group("indent"))
        elif END.match(line):
            if open_at is None:
                raise ValueError(f"{path}:{number + 1}: END SOLUTION without a BEGIN SOLUTION above it")
            start, name, indent = open_at
            regions.append(Region(name, path, start, number, indent, tuple(lines[start + 1:number])))
            open_at = None
    if open_at is not None:
        raise ValueError(f"{path}:{open_at[0] + 1}: BEGIN SOLUTION {open_at[1]} is never closed by '# END SOLUTION'")
    return regions


def cut_regions(text: str, path: str, names=None):
    """``(text with the regions named in names (None: all) replaced by stubs, the regions cut)``."""
    regions = [r for r in find_regions(text, path) if names is None or r.name in names]
    lines = text.split("\n")
    for region in reversed(regions):  # from the bottom up, so earlier line numbers stay valid
        lines[region.begin:region.end + 1] = [stub_line(region.name, region.indent)]
    return "\n".join(lines), regions
