"""The import direction of the spine (docs/architecture.md), checked by scripts/import_graph.py.

The spine's layers, bottom up, then the wings: no module imports from a layer above its own (so no
spine file imports a wing), the spine imports nothing inside a function or below the top of a file,
no spine modules import each other in a cycle, and docs/architecture.md's map is what the imports say.
"""
import pytest

from module_from_file import module_from_file


@pytest.fixture(scope="module")
def import_graph():
    return module_from_file("scripts/import_graph.py")


def test_the_core_imports_one_way(import_graph):
    report = import_graph.analyse()
    assert report["upward"] == []
    assert report["late"] == []
    assert report["cycles"] == []
    # the graph was read at all: each layer imports the one below it
    for lower in range(len(import_graph.LAYERS) - 1):
        assert report["edges"][(lower + 1, lower)] > 0


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_an_import_against_the_direction_a_late_import_and_a_cycle(import_graph, tmp_path):
    root = tmp_path / "minitl"
    _write(root, {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/backend.py": "import numpy\n",
        "core/tensor.py": "from . import backend\nfrom .ops import arithmetic\n",  # tensor -> ops: UP
        "core/ops/__init__.py": "",
        "core/ops/arithmetic.py": "from ..tensor import Function\n\ndef f():\n    from ..tensor import Tensor\n",
        "core/ops/reduce.py": "from ...fast import conv\n",  # the spine imports a wing: UP
        "core/extra.py": "",  # a spine file with no place in the reading order
        "fast/__init__.py": "",
        "fast/conv.py": "from ..core.ops import arithmetic\n",
    })
    report = import_graph.analyse(root)
    assert report["upward"] == ["minitl/core/ops/reduce.py:1  minitl.core.ops.reduce -> minitl.fast.conv",
                                "minitl/core/tensor.py:2  minitl.core.tensor -> minitl.core.ops.arithmetic"]
    assert report["late"] == ["minitl/core/ops/arithmetic.py:4  minitl.core.ops.arithmetic -> minitl.core.tensor"]
    assert report["cycles"] == [["minitl.core.ops.arithmetic", "minitl.core.tensor"]]
    assert report["unlisted"] == ["minitl.core.extra"]


def test_the_map_in_docs_architecture_is_the_generated_one(import_graph):
    report = import_graph.analyse()
    doc = import_graph.DOC.read_text()
    assert import_graph.doc_with_map(doc, report) == doc, "run: python3 scripts/import_graph.py --write-doc"
    spine = [line.split("`")[1] for line in doc.splitlines() if line.startswith("| ") and "`minitl/core/" in line]
    in_order = [report["modules"][name].relative_to(import_graph.ROOT.parent).as_posix()
                for _, members in import_graph.SPINE for name in members if name in report["modules"]]
    assert spine == in_order and len(spine) == len(list(import_graph.ROOT.joinpath("core").rglob("*.py")))


def test_the_map_changes_when_an_import_does(import_graph, tmp_path):
    root = tmp_path / "minitl"
    _write(root, {"__init__.py": "", "core/__init__.py": '"""The spine."""\n', "core/tensor.py": '"""Tensor."""\n',
                  "io/__init__.py": "from ..core import tensor\n"})
    before = import_graph.map_text(import_graph.analyse(root))
    assert "| `minitl/io/` | 1 | tensor (1) |" in before
    (root / "io" / "__init__.py").write_text("")
    assert import_graph.map_text(import_graph.analyse(root)) != before


def test_the_spine_a_student_reads_is_at_most_3500_lines_docstrings_included(import_graph):
    """Issue 22's bound, counted as ``wc -l minitl/core/**/*.py`` counts (blank lines and docstrings included),
    over exactly the files of the spine's reading order, so a new spine file is counted too."""
    core = import_graph.ROOT / "core"
    files = sorted(core.rglob("*.py"))
    listed = {name for _, members in import_graph.SPINE for name in members}
    assert {import_graph.module_name(path) for path in files} == listed
    lines = sum(len(path.read_text().splitlines()) for path in files)
    assert 3000 < lines <= 3500, f"the spine is {lines} lines"
