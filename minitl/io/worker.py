"""Run a reader in a child process with a time limit, for libraries that can hang on a bad file.

libhdf5 is C code that trusts much of what a file says: a corrupted Keras ``.h5`` of 17 kB can
make it loop forever inside one attribute read, where no Python check can interrupt it. The
only sure stop is to read in another process and kill it when the time is up. The child is
forked (cheap: it shares the parent's imported modules), sends back the reader's result or its
error through a pipe, and exits; a child that is still running at the deadline is killed and the
caller gets :class:`WeightFormatError` naming the file.

The child never outlives its parent, even one killed with SIGKILL (which cannot clean up): on
Linux it asks the kernel to kill it when the parent dies (``PR_SET_PDEATHSIG``); everywhere it
sets an alarm at twice the deadline, whose default action ends it even while C code holds
the interpreter (a Python thread polling the parent could not run then).

Where a child cannot be forked (no ``os.fork``: Windows, a browser build of Python, a sandbox that
refuses new processes) the reader runs in this process, without a time limit, and a warning says so.
"""
import contextlib
import math
import multiprocessing
import os
import signal
import warnings

from .errors import OptionalDependencyError, UnsafeWeightsError, WeightFormatError

_ERRORS = {"WeightFormatError": WeightFormatError, "UnsafeWeightsError": UnsafeWeightsError}


PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The parent stops the child at the deadline itself; the alarm only ends a child whose parent is gone, so it
# leaves room to send back a result read just in time (sending takes about as long as reading).
ALARM_SLACK_SECONDS = 2


def _die_with_parent(parent_pid: int) -> bool:
    """Linux: have the kernel SIGKILL this process when its parent dies. True if that is now in force."""
    try:
        import ctypes  # noqa: PLC0415 - only a forked child on Linux needs it; not every Python has it

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (ImportError, OSError, AttributeError):  # no ctypes, no libc, no prctl (not Linux)
        return False
    if os.getppid() != parent_pid:  # the parent died before the request was in force
        os._exit(1)
    return True


def _end_by_alarm(seconds: float) -> bool:
    """End this process ``seconds`` from now, whatever it is doing (SIGALRM's default action)."""
    if not hasattr(signal, "alarm"):
        return False
    with contextlib.suppress(ValueError):  # a handler inherited from the parent would need the interpreter
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, math.ceil(seconds)))
    return True


def _child(connection, parent_pid, seconds, function, args):
    _die_with_parent(parent_pid)
    _end_by_alarm(2 * seconds + ALARM_SLACK_SECONDS)
    try:
        message = ("ok", function(*args))
    except (WeightFormatError, OptionalDependencyError) as exc:
        message = ("minitl", type(exc).__name__, getattr(exc, "path", None), getattr(exc, "problem", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises its own type
        message = ("foreign", f"{type(exc).__name__}: {exc}"[:2000])
    connection.send(message)
    connection.close()


def _in_this_process(path, why, function, args):
    warnings.warn(f"{os.fspath(path)}: read in this process without a time limit, because {why}; a corrupt "
                  "file could make it hang (stop it with Ctrl-C)", RuntimeWarning, stacklevel=3)
    return function(*args)


def run_with_time_limit(path, seconds: float, function, *args):
    """``function(*args)`` in a forked child; :class:`WeightFormatError` if it takes over ``seconds``.

    Without ``os.fork`` (or where forking fails) it runs here, without the limit, and warns.
    """
    if not hasattr(os, "fork") or "fork" not in multiprocessing.get_all_start_methods():
        return _in_this_process(path, "this Python cannot fork a reader process (no os.fork)", function, args)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, os.getpid(), seconds, function, args), daemon=True)
    try:
        child.start()
    except OSError as exc:  # out of processes, or a sandbox that forbids them
        receiver.close()
        sender.close()
        return _in_this_process(path, f"a reader process could not be started ({exc})", function, args)
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
