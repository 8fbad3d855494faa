"""``minitl exercises make OUT``: write a student copy of minitl, each solution region replaced by its stub.

The copy is the imported ``minitl`` package, file for file, with the regions of ``regions.py`` cut (all of
them, or the exercises ``only`` names), written next to the shipped weights when the checkout has them,
so that ``cd OUT && python -m minitl check --all`` imports the copy (the current folder comes first on
``sys.path``). It is built in a temporary folder inside OUT and moved into place in one rename: a failed
run leaves no half copy, and an existing ``OUT/minitl`` is never overwritten.

A fast twin (``minitl/fast``) registered over a stubbed reference op would run in its place and make the
student's code dead weight: training would use the twin, whatever the student wrote. So the copy carries
``exercises/student_copy.json``, the list of its stubbed exercises, and on import ``switch_off_twins``
takes the twins of their ops off (``seams.register_fast_path(op, None)``): in the copy, the student's
``conv2d`` and ``max_pool2d`` are what every model runs. (The checker switches every twin off while it
checks, copy or not: ``checker.reference_ops``.)
"""
import json
import shutil
import tempfile
from pathlib import Path

from ..core import seams
from .checker import EXERCISES, exercise_op
from .regions import cut_regions, find_regions

PACKAGE = Path(__file__).resolve().parent.parent  # the minitl package that is imported
MANIFEST = Path(__file__).with_name("student_copy.json")  # only in a student copy: its stubbed exercises


def solution_regions(package=PACKAGE) -> dict:
    """``{path relative to the package's parent: [Region, ...]}`` for every file of ``package`` with regions."""
    found = {}
    for path in sorted(Path(package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(Path(package).parent).as_posix()
        regions = find_regions(path.read_text(encoding="utf-8"), relative)
        if regions:
            found[relative] = regions
    return found


def _chosen_names(found, only):
    """The exercise names ``only`` picks: names, or files (``minitl/core/ops/conv.py``) standing for theirs."""
    names = list(dict.fromkeys(r.name for regions in found.values() for r in regions))
    if not only:
        return set(names)
    chosen = set()
    for item in only:
        item = item.strip()
        by_file = [path for path in found if path == item or path == f"minitl/{item}"]
        if item in names:
            chosen.add(item)
        elif by_file:
            chosen.update(r.name for r in found[by_file[0]])
        else:
            raise ValueError(f"--only {item!r}: no exercise or file with solution regions of that name; the "
                             f"exercises are {', '.join(names)}; the files {', '.join(found)}")
    return chosen


def make_student_copy(out, only=None, package=PACKAGE) -> list:
    """Write ``OUT/minitl`` with the chosen exercises stubbed (``only``: names or files; None: all).

    Returns the regions cut. Raises FileExistsError if ``OUT/minitl`` exists, ValueError if ``package``
    holds no solution region (a student copy made from a student copy would hand out nothing).
    """
    package, out = Path(package), Path(out)
    target = out / "minitl"
    if target.exists():
        raise FileExistsError(f"{target} exists: choose another folder, or remove it first")
    found = solution_regions(package)
    if not found:
        raise ValueError(f"no '# BEGIN SOLUTION' region in {package}: is this already a student copy? Make the "
                         "copy from the full minitl")
    names = _chosen_names(found, only)
    out.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".minitl-student-copy-", dir=out))
    cut = []
    try:
        shutil.copytree(package, building / "minitl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for relative in found:
            path = building / relative
            text, regions = cut_regions(path.read_text(encoding="utf-8"), relative, names)
            path.write_text(text, encoding="utf-8")
            cut += regions
        stubbed = [name for name in EXERCISES if name in names] + sorted(names - set(EXERCISES))
        manifest = building / "minitl" / "exercises" / MANIFEST.name
        manifest.write_text(json.dumps({"stubbed": stubbed}, indent=1) + "\n", encoding="utf-8")
        weights = package.parent / "weights"  # where a checkout's minitl looks for the shipped weights
        if (weights / "manifest.json").is_file() and not (out / "weights").exists():
            shutil.copytree(weights, building / "weights")
            (building / "weights").rename(out / "weights")
        (building / "minitl").rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return cut


def switch_off_twins(manifest=MANIFEST) -> list:
    """In a student copy: take the fast twins off the stubbed exercises' ops; returns those ops."""
    if not manifest.is_file():
        return []
    stubbed = json.loads(manifest.read_text(encoding="utf-8")).get("stubbed", [])
    ops = [op for op in (exercise_op(name) for name in stubbed if name in EXERCISES) if op in seams.fast_paths]
    for op in ops:
        seams.register_fast_path(op, None)
    return ops
