"""A script, demo or lesson of this checkout imported from its file, without running it as ``__main__``.

``scripts/``, ``demos/`` and ``lessons/`` are not packages; their tests call the functions inside
(``import_graph.analyse``, ``step_trace.main``, a demo's conclusions) through this one loader.
"""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_from_file(path):
    """The module in ``path`` (relative to the checkout, or absolute), freshly executed; named after its file."""
    path = ROOT / path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
