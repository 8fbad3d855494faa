"""Helpers for tests with crafted hostile files: build zips by hand and measure a call's peak memory."""
import tracemalloc
import zipfile


def peak_python_bytes(function, *args, **kwargs):
    """``(result or exception, peak bytes)`` of one call, as tracemalloc sees it (NumPy buffers included)."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the caller asserts on what came back
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    """A zip with ``members`` (name -> bytes), each deflated unless ``compression`` says otherwise."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
