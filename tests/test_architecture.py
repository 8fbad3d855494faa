"""The import direction of the core (docs/architecture.md), checked by scripts/import_graph.py.

backend <- tensor <- autograd <- functional <- nn <- the rest: no module imports from a layer above
its own, the core imports nothing inside a function or below the top of a file, and no core modules
import each other in a cycle.
"""
import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "import_graph.py"


@pytest.fixture(scope="module")
def import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        "backend.py": "import numpy\n",
        "tensor.py": "from . import backend\nfrom .functional import ops\n",  # tensor -> functional: UP
        "autograd.py": "from .tensor import Tensor\n",
        "functional/__init__.py": "",
        "functional/ops.py": "from ..autograd import Function\n\ndef f():\n    from ..tensor import Tensor\n",
        "nn/__init__.py": "from ..functional import ops\n",
    })
    report = import_graph.analyse(root)
    assert report["upward"] == ["minitl/tensor.py:2  minitl.tensor -> minitl.functional.ops"]
    assert report["late"] == ["minitl/functional/ops.py:4  minitl.functional.ops -> minitl.tensor"]
    assert report["cycles"] == [["minitl.autograd", "minitl.functional.ops", "minitl.tensor"]]
