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


def storages_pickle(keys, numel):
    """A torch data.pkl: a dict of float tensors ``t0, t1, ...``, tensor i on storage ``keys[i]`` of ``numel``."""
    from minitl.io.torch_writer import _PickleWriter

    writer = _PickleWriter()
    writer.out += b"}"  # EMPTY_DICT
    writer.mark()
    for index, key in enumerate(keys):
        writer.string(f"t{index}")
        writer.global_("torch._utils", "_rebuild_tensor_v2")
        writer.mark()
        writer.mark()
        writer.string("storage")
        writer.global_("torch", "FloatStorage")
        for item in (key, "cpu"):
            writer.string(item)
        writer.integer(numel)
        writer.tuple_()
        writer.persid()
        writer.integer(0)
        writer.int_tuple([numel])
        writer.int_tuple([1])
        writer.false()
        writer.empty_ordered_dict()
        writer.tuple_()
        writer.reduce()
    writer.setitems()
    return writer.stop()
