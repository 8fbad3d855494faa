"""Atomic file writes: a weight file is either the old one or the complete new one, never half.

Writers open a temporary file in the *same* directory (so the final ``os.replace`` is a rename on one
file system, which POSIX and Windows make atomic), write and ``fsync`` it, then rename it over the
target. If anything fails on the way the temporary file is removed and the target is untouched.
Used by native.py, safetensors.py and torch_writer.py.
"""
import contextlib
import os
import tempfile


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
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
