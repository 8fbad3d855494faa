"""The one thing pyproject.toml cannot say: ship the top-level ``weights/`` folder inside the package.

The shipped weights stay at the repository's top level (where ``minitl pretrain`` writes them and a
student finds them), and the wheel carries them as the package ``minitl._shipped_weights``:
pyproject.toml maps that name to ``weights/`` (``package-dir``) and lists its files
(``package-data``), but its ``packages.find`` only finds folders inside ``minitl/``, so the list
of packages is made here. ``minitl.weights.folder()`` looks there first in an installed copy.
Everything else about the build is in pyproject.toml.
"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["minitl", "minitl.*"]) + ["minitl._shipped_weights"])
