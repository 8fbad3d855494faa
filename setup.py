"""The one thing pyproject.toml cannot say: ship the top-level ``weights/`` folder inside the built package.

The shipped weights stay at the repository's top level (where ``minitl pretrain`` writes them and a student
finds them). A regular build (a wheel, ``pip install ./minitl``, ``pip install git+URL``) copies them into the
package as ``minitl/_shipped_weights/``, where ``minitl.weights.folder()`` looks first in an installed copy. An
editable install copies nothing: it reads the checkout's ``weights/`` itself, and it stays a plain path entry
(mapping ``weights/`` as a package of its own would make setuptools install an import finder instead, which a
notebook started above a clone named ``minitl/`` does not consult in time: tests/test_notebook_setup.py).
Everything else about the build is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED_PATTERNS = ("manifest.json", "*.npz", "*.pth")


class BuildWithWeights(build_py):
    """``build_py``, then ``weights/`` (manifest and weight files) copied to ``minitl/_shipped_weights/``."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "minitl" / "_shipped_weights"
        target.mkdir(parents=True, exist_ok=True)
        for pattern in SHIPPED_PATTERNS:
            for path in sorted(WEIGHTS.glob(pattern)):
                shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithWeights})
