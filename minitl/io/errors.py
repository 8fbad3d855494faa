"""The exceptions of the weight-file layer.

Every reader, writer and the loader into a model raise only these (plus ``OSError`` when a path
cannot be opened at all), so that a caller can write one ``except`` and a student can read, from the
message alone, which file (and which key, which shape) went wrong and what to do about it.

Hierarchy::

    WeightFormatError (ValueError)      the file is malformed, truncated or of a kind minitl refuses
      UnsafeWeightsError                the file tries to run code (a pickle naming os.system, ...)
    StateDictMismatchError (ValueError) the file is fine but does not fit the model (strict load)
    OptionalDependencyError (ImportError)  h5py / onnx needed for this format is not installed

``UnsafeWeightsError`` is a ``WeightFormatError`` on purpose: a weight file that carries code is,
first of all, not a weight file.
"""
import importlib
import os


class WeightFormatError(ValueError):
    """A weight file is malformed or unsupported. ``.path`` is the file, ``.problem`` the reason."""

    def __init__(self, path, problem=None):
        if problem is None:  # WeightFormatError("message") also works, for callers without a path
            path, problem = None, str(path)
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class UnsafeWeightsError(WeightFormatError):
    """A weight file asked to import or call something that is not plain data. Nothing was run."""


class StateDictMismatchError(ValueError):
    """The weights do not fit the model. ``.report`` is the full :class:`LoadReport`; the model is unchanged."""

    def __init__(self, message: str, report):
        self.report = report
        super().__init__(message)


class OptionalDependencyError(ImportError):
    """A format needs an optional package (h5py, onnx) that is not installed."""


def require_optional(module_name: str, extra_hint: str):
    """Import an optional package on first use, or raise one error saying how to install it."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"reading this file needs the optional package {module_name!r}, which is not installed "
            f"({exc}); install it with: {extra_hint}"
        ) from exc
