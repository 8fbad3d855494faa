"""Progress bars for long work, written to stderr: training epochs and downloads share them.

    epoch 2/3 [###############---------------] 50/100 loss 0.532 acc 0.81 12.3s
    train-images-idx3-ubyte.gz [#########---------------------]  31% 8.2/26.4 MB 1.9s

Which bar you get is decided once per run by ``progress_mode(verbose, stream)``:

* ``verbose=False``: nothing at all.
* ``verbose=None`` (the default, "auto"): a live bar only when stderr is a terminal; silent when
  the output goes to a file or a pipe (a test run, a batch job), so logs are not filled with
  hundreds of redrawn lines. The live bar is ``tqdm`` when it is installed, else the plain bar.
* ``verbose=True``: always show progress. On a terminal it is the live bar; elsewhere the plain bar
  writes one finished line per epoch (no ``\\r`` redraws), so a student's log file still shows
  every epoch's loss, accuracy and time. A bar over long units of work (``minitl compare``'s runs,
  ``every_update=True``) writes one line per finished unit instead, so a log shows the job moving
  long before it ends.
* In a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), unless ``verbose=False`` or a ``stream`` is
  given: the plain bar's text in the cell's output, redrawn in place through an IPython display handle
  (``"notebook"``). No widget library, so never "IntProgress not found"; never ``tqdm.auto``.

The plain bar redraws at most ten times a second: drawing is cheap, but not free when a step takes
a millisecond. Used by: ``train/loop.py``, ``data/download.py``; tqdm, when importable.
"""
import sys
import time

WIDTH = 30
REDRAW_SECONDS = 0.1


def notebook_display():
    """IPython's ``display`` when this process is a Jupyter kernel, else None (a terminal, a script, terminal IPython).

    IPython is no dependency of minitl: it is only looked up when something has imported it already, which a
    kernel always has. A kernel's shell has a ``kernel``; terminal IPython's has none (its ``\\r`` bar works).
    """
    ipython = sys.modules.get("IPython")
    try:
        if ipython is None or getattr(ipython.get_ipython(), "kernel", None) is None:
            return None
        from IPython.display import display  # noqa: PLC0415 - optional (IPython), present in every kernel
    except (AttributeError, ImportError):
        return None
    return display


def progress_mode(verbose, stream=None):
    """``"notebook"``, ``"tqdm"``, ``"live"`` (plain, redrawn), ``"lines"`` (plain, one line per epoch) or None."""
    if verbose is False:
        return None
    if stream is None and notebook_display() is not None:
        return "notebook"
    stream = stream or sys.stderr
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if not is_tty:
        return "lines" if verbose else None
    try:
        import tqdm  # noqa: F401, PLC0415 - optional dependency (tqdm)
    except ImportError:
        return "live"
    return "tqdm"


def format_metrics(metrics) -> str:
    """``{"loss": 0.5321, "acc": 0.81}`` -> ``"loss 0.532 acc 0.810"`` (None values left out)."""
    parts = []
    for name, value in metrics.items():
        if value is None:
            continue
        parts.append(f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}")
    return " ".join(parts)


def count_steps(done, total) -> str:
    return f"{done}/{total}"


def count_megabytes(done, total) -> str:
    return f"{100 * done / total:3.0f}% {done / 1e6:.1f}/{total / 1e6:.1f} MB"


class PlainBar:
    """One line: description, ``[####----]``, done/total (or ``counter``'s text), metrics, seconds."""

    def __init__(self, total, description, stream=None, live=True, counter=count_steps, every_update=False):
        self.total, self.description, self.live, self.counter = total, description, live, counter
        self.every_update = every_update and not live
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.done, self.metrics = 0, {}
        self._last_draw, self._drawn = 0.0, 0

    def text(self) -> str:
        elapsed = time.perf_counter() - self.start
        if self.total:
            filled = min(WIDTH, int(WIDTH * self.done / self.total))
            counter = f"[{'#' * filled}{'-' * (WIDTH - filled)}] {self.counter(self.done, self.total)}"
        else:
            counter = f"{self.done} done"
        metrics = format_metrics(self.metrics)
        return f"{self.description} {counter}{' ' + metrics if metrics else ''} {elapsed:.1f}s"

    def update(self, done, metrics=None):
        self.done = done
        if metrics is not None:
            self.metrics = dict(metrics)
        if self.every_update:
            self.stream.write(self.text() + "\n")
            self.stream.flush()
            return
        now = time.perf_counter()
        if self.live and now - self._last_draw >= REDRAW_SECONDS:
            self._last_draw = now
            self.draw(self.text())

    def draw(self, text):
        """Redraw the live line: back to its start (``\\r``) and write over it."""
        self.stream.write("\r" + text)
        self.stream.flush()
        self._drawn = len(text)

    def close(self, metrics=None):
        if metrics is not None:
            self.metrics.update(metrics)
        if self.every_update and metrics is None:
            return  # the last update already wrote the finished line
        self.finish(self.text())

    def finish(self, text):
        if self.live:  # back to the line's start; spaces cover what is left of a longer live line
            text = "\r" + text.ljust(self._drawn)
        self.stream.write(text + "\n")
        self.stream.flush()


class NotebookBar(PlainBar):
    """The plain bar in a notebook cell: one output, redrawn in place through an IPython display handle.

    ``display`` is IPython's (``notebook_display()``); the output is plain text, the terminal bar's own line,
    so it reads the same in every front-end and where HTML is stripped.
    """

    def __init__(self, total, description, display, counter=count_steps):
        super().__init__(total, description, live=True, counter=counter)
        self.handle = display({"text/plain": self.text()}, raw=True, display_id=True)

    def draw(self, text):
        self.handle.update({"text/plain": text}, raw=True)

    def finish(self, text):
        self.handle.update({"text/plain": text}, raw=True)


class TqdmBar:
    """The same interface on top of ``tqdm`` (its own rate and time estimates come for free)."""

    def __init__(self, total, description, stream=None, unit="step"):
        from tqdm import tqdm  # noqa: PLC0415 - optional dependency (tqdm)

        self.bar = tqdm(total=total, desc=description, file=stream or sys.stderr, leave=True, unit=unit,
                        unit_scale=unit == "B", dynamic_ncols=True)
        self.done, self.metrics = 0, {}

    def update(self, done, metrics=None):
        if metrics is not None:
            self.metrics = dict(metrics)
            self.bar.set_postfix_str(format_metrics(self.metrics), refresh=False)
        self.bar.update(done - self.done)
        self.done = done

    def close(self, metrics=None):
        if metrics is not None:
            self.metrics.update(metrics)
            self.bar.set_postfix_str(format_metrics(self.metrics), refresh=False)
        self.bar.close()


class SilentBar:
    """What ``verbose=False`` gets: the interface, doing nothing."""

    def update(self, done, metrics=None):
        pass

    def close(self, metrics=None):
        pass


def make_bar(mode, total, description, stream=None, unit="step", every_update=False):
    """A bar in the given ``progress_mode``; ``unit="B"`` counts bytes (shown as MB). ``every_update``: in
    "lines" mode, one line per ``update`` (for a few long units of work) instead of one at the end."""
    counter = count_megabytes if unit == "B" else count_steps
    display = notebook_display() if mode == "notebook" else None
    if display is not None:
        return NotebookBar(total, description, display, counter=counter)
    if mode == "tqdm":
        return TqdmBar(total, description, stream, unit)
    if mode in ("live", "lines", "notebook"):  # "notebook" where the kernel has gone: one line per epoch
        return PlainBar(total, description, stream, live=(mode == "live"), counter=counter,
                        every_update=every_update)
    return SilentBar()
