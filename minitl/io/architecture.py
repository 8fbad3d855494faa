"""Is this file even for this model? A short answer before the key-by-key list.

When a student loads a ResNet-8 file into a SmallCNN, a strict load would list every one of the
76 keys that do not fit, and advise ``strict=False``, which would then load nothing. This module
recognises that case and says it in three lines: which model the file holds (from its manifest's
``architecture`` when it has one, else from its key names), which model it was loaded into, and
what to do. ``strict=False`` that matches no key at all is an error too, never a silent no-op.
The full ``LoadReport`` stays on the error (``err.report``).
"""
import os

from .errors import StateDictMismatchError, WeightFormatError

SAMPLE_KEYS = 3


class DifferentModelError(StateDictMismatchError, WeightFormatError):
    """The file holds the weights of another model. Both a mismatch (``.report``) and a wrong file (``.path``)."""

    def __init__(self, message, report, path=None):
        self.report, self.problem = report, message
        self.path = os.fspath(path) if path is not None else None
        ValueError.__init__(self, message)


def _family(names) -> str:
    """The top-level module names of a key list, in order: ``backbone, head`` -- a model's outline."""
    seen = []
    for name in names:
        top = name.split(".", 1)[0]
        if top not in seen:
            seen.append(top)
    return ", ".join(seen[:6]) + (", ..." if len(seen) > 6 else "")


def _file_model(meta) -> str:
    architecture = meta.get("architecture") if isinstance(meta, dict) else None
    arguments = meta.get("arguments") if isinstance(meta, dict) else None
    if not architecture:
        return ""
    if isinstance(arguments, dict) and arguments:
        shown = ", ".join(f"{key}={value}" for key, value in list(arguments.items())[:4])
        return f"{architecture}({shown})"
    return str(architecture)


def different_model_error(report, meta, model_name, file_keys, model_keys, strict, path=None):
    """A ``DifferentModelError`` when the file plainly holds another model, else None.

    "Plainly": its manifest names another architecture, or fewer than half of the model's keys
    are found in the file. Under ``strict=False`` only a load that matches no key at all is refused.
    """
    wanted = [name for name in model_keys if name not in report.ignored]
    if not wanted or report.ok:
        return None
    found = len(report.loaded) + len(report.mismatched)
    architecture = _file_model(meta)
    named_other = bool(architecture) and str(meta.get("architecture")) != model_name
    if strict and not named_other and found * 2 >= len(wanted):
        return None  # the same model with a few keys off: the key-by-key list is the useful answer
    if not strict and report.loaded:
        return None
    source = report.source or "the weights"
    holds = (f"holds a {architecture} (its manifest says so)" if architecture else
             f"holds a different model: its keys start {_family(file_keys)} "
             f"(e.g. {', '.join(list(file_keys)[:SAMPLE_KEYS])})")
    message = (f"{source} {holds}, but it is being loaded into a {model_name}, whose keys start "
               f"{_family(model_keys)}; only {found} of the model's {len(wanted)} keys are in the file, so "
               f"nothing was loaded and the model was NOT changed.\n"
               f"What to do: build the model the file was saved from"
               f"{' (' + architecture + ')' if architecture else ''} and load it into that; or, if the keys "
               "differ only by a prefix, pass prefix= or key_map= (the full list is in err.report)")
    if not strict:
        message = "strict=False matched no key at all: " + message
    return DifferentModelError(message, report, path)
