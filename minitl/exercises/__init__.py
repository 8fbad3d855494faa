"""Exercises: a student copy of minitl with solution regions cut out, and the checker that tests the student's code.

* ``regions.py``: the ``# BEGIN SOLUTION <name>`` / ``# END SOLUTION`` regions in the spine, and their stubs;
* ``student_copy.py``: ``minitl exercises make OUT`` writes the copy;
* ``cases.py``: the seeded inputs the op exercises are checked on (their forward values: ``expected.npz``);
* ``checker.py``: ``minitl check NAME`` / ``--all`` and ``minitl.check(...)``, on the code that is imported;
* ``report.py``: the table it returns (text in a terminal, HTML in a notebook);
* ``command.py``: the two commands.

A wing: the spine never imports it. ``docs/teaching.md`` says how a course uses it.
"""
from .checker import EXERCISES, check, reference_ops, stub_in_place
from .report import CheckReport, CheckRow
from .student_copy import make_student_copy, solution_regions, switch_off_twins

switch_off_twins()  # in a student copy only: the stubbed ops run the student's code, never a fast twin
