"""Atomic file writes: a file is either the old one or the complete new one, never half.

Writers open a temporary file in the *same* directory (so the final ``os.replace`` is a rename on one
file system, which POSIX and Windows make atomic), write and ``fsync`` it, then rename it over the
target. If anything fails on the way the temporary file is removed and the target is untouched.
``mkstemp`` creates files readable by their owner only (0600); before the rename the file gets the
mode a plain ``open(path, "w")`` would give it: the old target's mode, else 0666 minus the umask
(0644 where the umask cannot be read: no /proc and no ``os.umask``, as in a browser build of Python).
After the rename the directory is fsync-ed too, so the new name itself survives a power cut.

A process killed with SIGKILL cannot clean up, so its temporary file would stay forever. Each
temporary name carries the writer's process id (``.name.<pid>.<random>.tmp``), and before writing
``path`` the temporary siblings of ``path`` whose process no longer exists are removed.
Used by the weight writers (``io/``), checkpoints (``train/``) and downloads (``data/``).
"""
import contextlib
import os
import re
import stat
import tempfile

FALLBACK_UMASK = 0o022  # the usual default, where the umask cannot be read


def _umask() -> int:
    """The process umask. Linux reports it in /proc; elsewhere os.umask can only read it by setting it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    if not hasattr(os, "umask"):
        return FALLBACK_UMASK
    mask = os.umask(FALLBACK_UMASK)
    os.umask(mask)
    return mask


def _mode_for(path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)  # replacing a file keeps its permissions
    except OSError:
        return 0o666 & ~_umask()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its file alone
    return True


def sweep_stale_temporaries(path) -> list:
    """Remove ``.name.<pid>.*.tmp`` siblings of ``path`` left by writers that were killed; return them."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape("." + name + ".") + r"(\d+)\.[^/]*\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            match = pattern.fullmatch(entry.name)
            if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def _fsync_directory(directory) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Windows cannot open a directory
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file object; on clean exit it replaces ``path`` in one step.

    Notice: a crash (or exception) in the ``with`` body leaves no partial ``path`` behind.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    sweep_stale_temporaries(path)
    handle, temp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp_path, _mode_for(path))
        os.replace(temp_path, path)
        _fsync_directory(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
