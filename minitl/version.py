"""minitl's version, in one place: the package, saved files, comparison records and the step viewer read it.

A leaf (it imports nothing), so any module may import it at its top. Keep it equal to
``version`` in pyproject.toml (tests/test_version.py checks).
"""
__version__ = "0.1.0"
