"""minitl/version.py: one version, the same as the one pyproject.toml gives the package."""
import pathlib
import re

import minitl
from minitl.version import __version__


def test_one_version_everywhere():
    pyproject = (pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == __version__
    assert minitl.__version__ == __version__
