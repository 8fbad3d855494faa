"""Atomic file writes: a file is either the old one or the complete new one, never half.

Writers open a temporary file in the *same* directory (so the final ``os.replace`` is a rename on one
file system, which POSIX and Windows make atomic), write and ``fsync`` it, then rename it over the
target. If anything fails on the way the temporary file is removed and the target is untouched.
``mkstemp`` creates files readable by their owner only (0600); before the rename the file gets the
mode a plain ``open(path, "w")`` would give it: the old target's mode, else 0666 minus the umask.
Used by the weight writers (``io/``), checkpoints (``train/``) and downloads (``data/``).
"""
import contextlib
import os
import stat
import tempfile


def _umask() -> int:
    """The process umask. Linux reports it in /proc; elsewhere os.umask can only read it by setting it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)  # replacing a file keeps its permissions
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file object; on clean exit it replaces ``path`` in one step.

    Notice: a crash (or exception) in the ``with`` body leaves no partial ``path`` behind.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp_path, _mode_for(path))
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
