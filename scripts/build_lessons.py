"""Build the lesson notebooks from their percent-format sources: ``lessons/NN_name.py`` -> ``lessons/NN_name.ipynb``.

    python scripts/build_lessons.py           # write every notebook
    python scripts/build_lessons.py --check   # exit 1 if a notebook is not what its source builds

The sources are what we edit and review (plain Python, git-diffable); the notebooks are what a class opens.
A source is a sequence of cells, each starting with a ``# %%`` line: ``# %% [markdown]`` starts a text cell
whose lines are comments (``# `` is taken off each line), any other ``# %%`` a code cell. The notebooks are
written without outputs and with stable cell ids, so building twice gives the same bytes.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"


def cells_of(source: str, stem: str):
    """The cells of one percent-format source, as notebook (format 4.5) cell dicts."""
    cells, kind, lines = [], None, []

    def close():
        while lines and not lines[-1].strip():
            lines.pop()
        if kind is None:
            if any(line.strip() for line in lines):
                raise ValueError(f"{stem}: text before the first '# %%' line")
            return
        if kind == "markdown":
            text = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
            cell = {"cell_type": "markdown", "metadata": {}, "source": _joined(text)}
        else:
            cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                    "source": _joined(lines)}
        cell["id"] = f"{stem}-{len(cells):02d}"
        cells.append(cell)

    for line in source.splitlines():
        if line.startswith("# %%"):
            close()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    close()
    return cells


def _joined(lines):
    """Notebook JSON keeps a cell's source as a list of lines, each but the last ending in a newline."""
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def notebook_of(source_path: Path) -> str:
    notebook = {
        "cells": cells_of(source_path.read_text(encoding="utf-8"), source_path.stem),
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
        target = source.with_suffix(".ipynb")
        text = notebook_of(source)
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(target.relative_to(ROOT).as_posix())
        else:
            target.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python scripts/build_lessons.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
