"""atomic_write: a writer killed mid-write leaves no temporary file behind for long (issue 15)."""
import builtins
import os
import signal
import stat
import subprocess
import sys

from minitl import atomic
from minitl.atomic import atomic_write, sweep_stale_temporaries

KILLED_WRITER = """
import os, signal, sys
from minitl.atomic import atomic_write
with atomic_write(sys.argv[1]) as file:
    file.write(b"x" * 100_000)
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _temporaries(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_temporaries_of_killed_writers_are_swept_before_the_next_write(tmp_path):
    target = tmp_path / "w.npz"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], env=env)
        assert result.returncode == -signal.SIGKILL
    # each new writer swept the one killed before it (the old code left all three, forever)
    assert len(_temporaries(tmp_path)) == 1 and not target.exists()
    with atomic_write(target) as file:
        file.write(b"done")
    assert target.read_bytes() == b"done" and _temporaries(tmp_path) == []


def test_a_live_writers_temporary_and_other_files_are_left_alone(tmp_path):
    target = tmp_path / "w.npz"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mine = tmp_path / f".w.npz.{live.pid}.abc123.tmp"
        other = tmp_path / ".x.npz.999999999.abc.tmp"
        mine.write_bytes(b"in progress")
        other.write_bytes(b"another target")
        assert sweep_stale_temporaries(target) == []
        assert mine.exists() and other.exists()
    finally:
        live.kill()
        live.wait()
    assert sweep_stale_temporaries(target) == [str(mine)]


def test_without_proc_or_os_umask_a_new_file_gets_a_fixed_mode(tmp_path, monkeypatch):
    # a browser build of Python has neither /proc nor os.umask: the write still works, with mode 0644
    def no_proc(name, *args, **kwargs):
        if str(name).startswith("/proc/"):
            raise FileNotFoundError(name)
        return builtins.open(name, *args, **kwargs)

    monkeypatch.setattr(atomic, "open", no_proc, raising=False)  # found before the builtin in atomic.py
    monkeypatch.delattr(os, "umask")
    with atomic_write(tmp_path / "new.npz") as file:
        file.write(b"written")
    assert (tmp_path / "new.npz").read_bytes() == b"written"
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o644
