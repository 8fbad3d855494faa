"""Run a reader in a child process with a time limit, for libraries that can hang on a bad file.

libhdf5 is C code that trusts much of what a file says: a corrupted Keras ``.h5`` of 17 kB can
make it loop forever inside one attribute read, where no Python check can interrupt it. The
only sure stop is to read in another process and kill it when the time is up. The child is
forked (cheap: it shares the parent's imported modules), sends back the reader's result or its
error through a pipe, and exits; a child that is still running at the deadline is killed and the
caller gets :class:`WeightFormatError` naming the file. Where ``fork`` does not exist (Windows)
the reader runs in this process, without a time limit.
"""
import multiprocessing
import os

from .errors import OptionalDependencyError, UnsafeWeightsError, WeightFormatError

_ERRORS = {"WeightFormatError": WeightFormatError, "UnsafeWeightsError": UnsafeWeightsError}


def _child(connection, function, args):
    try:
        message = ("ok", function(*args))
    except (WeightFormatError, OptionalDependencyError) as exc:
        message = ("minitl", type(exc).__name__, getattr(exc, "path", None), getattr(exc, "problem", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises its own type
        message = ("foreign", f"{type(exc).__name__}: {exc}"[:2000])
    connection.send(message)
    connection.close()


def run_with_time_limit(path, seconds: float, function, *args):
    """``function(*args)`` in a forked child; :class:`WeightFormatError` if it takes over ``seconds``."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return function(*args)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise WeightFormatError(path, f"reading did not finish within {seconds:.0f} s and was stopped: the "
                                          "file is corrupt in a way that makes the HDF5 library loop. Re-save it "
                                          "from Keras, or re-download it")
        try:
            message = receiver.recv()
        except EOFError:  # the child died without a word (killed for memory, or crashed in C code)
            raise WeightFormatError(path, f"the reader process died (exit code {child.exitcode}) on this file: "
                                          "corrupt or hostile; refused") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if message[0] == "ok":
        return message[1]
    if message[0] == "minitl":
        _, name, error_path, problem = message
        if name == "OptionalDependencyError":
            raise OptionalDependencyError(problem)
        raise _ERRORS.get(name, WeightFormatError)(error_path or os.fspath(path), problem)
    raise WeightFormatError(path, f"not a readable file ({message[1]})")
