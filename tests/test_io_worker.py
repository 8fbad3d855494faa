"""The reader child (io/worker.py): it dies with its parent, and where no child can be forked the
file is read in this process with a warning instead of a crash (issues 23 and 29)."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minitl.io import worker

ROOT = Path(__file__).resolve().parent.parent
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="this Python cannot fork")

# A parent that starts a reader child which writes its pid and then hangs, as libhdf5 does on a bad file.
HANGING_PARENT = """
import os, sys, time
from minitl.io import worker

def hang(pid_file):
    with open(pid_file + ".part", "w") as file:
        file.write(str(os.getpid()))
    os.replace(pid_file + ".part", pid_file)
    time.sleep(600)

worker.run_with_time_limit("hangs.h5", 300, hang, sys.argv[1])
"""


def _gone(pid: int) -> bool:
    """True once ``pid`` has ended (a zombie waiting for init to reap it has ended too)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_for(condition, limit=60.0):
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_without_os_fork_the_reader_runs_here_and_says_so(monkeypatch):
    monkeypatch.delattr(os, "fork")  # Emscripten, WASI, Windows
    with pytest.warns(RuntimeWarning, match=r"model\.h5: read in this process without a time limit.*no os\.fork"):
        assert worker.run_with_time_limit("model.h5", 5, lambda x: x * 2, 21) == 42


@needs_fork
def test_when_forking_fails_the_reader_runs_here_and_says_so(monkeypatch):
    def refuse():
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)  # a sandbox or a process limit
    with pytest.warns(RuntimeWarning, match=r"model\.h5: .*could not be started \(.*temporarily unavailable"):
        assert worker.run_with_time_limit("model.h5", 5, lambda x: x * 2, 21) == 42


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_the_reader_child_dies_when_its_parent_is_killed_hard(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", HANGING_PARENT, str(pid_file)], cwd=ROOT)
    child = None
    try:
        assert _wait_for(pid_file.exists), "the reader child never started"
        child = int(pid_file.read_text())
        parent.kill()  # SIGKILL: the parent cannot clean up
        parent.wait()
        assert _wait_for(lambda: _gone(child), 20.0), f"reader child {child} outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        if child is not None and not _gone(child):
            os.kill(child, signal.SIGKILL)


@needs_fork
@pytest.mark.skipif(not hasattr(signal, "alarm"), reason="no SIGALRM on this platform")
def test_the_alarm_ends_a_child_that_hangs_where_the_parent_death_signal_does_not_exist():
    # the backstop where prctl does not exist (macOS, no ctypes): SIGALRM's default action, which
    # ends the process even while C code holds the interpreter and no Python can run
    pid = os.fork()
    if pid == 0:  # the child: the alarm must end it long before the sleep does
        try:
            worker._end_by_alarm(1)
            time.sleep(60)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM


def test_without_ctypes_the_parent_death_signal_is_skipped_not_a_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "ctypes", None)  # a Python built without ctypes
    assert worker._die_with_parent(os.getppid()) is False
