"""The process-wide allocator choice (minitl/fast/allocator.py): on by default on glibc, off by the switch."""
import os
import platform
import subprocess
import sys

import pytest

PROBE = "import minitl, minitl.fast.allocator as a; print(a.is_applied())"


def _applied_in_fresh_process(switch):
    env = dict(os.environ)
    env.pop("MINITL_KEEP_FREED_MEMORY", None)
    if switch is not None:
        env["MINITL_KEEP_FREED_MEMORY"] = switch
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_import_keeps_freed_memory_on_glibc():
    assert _applied_in_fresh_process(None) == "True"


@pytest.mark.parametrize("switch", ["0", "off", "False"])
def test_the_environment_switch_leaves_the_allocator_alone(switch):
    assert _applied_in_fresh_process(switch) == "False"


def test_a_second_call_changes_nothing():
    from minitl.fast import allocator

    first = allocator.is_applied()
    assert allocator.keep_freed_memory() is first
