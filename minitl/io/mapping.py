"""Load weights into a model, checking everything first and reporting every key.

``load_into(model, source, ...)`` is the one path from a weight file (any format, see
formats.py) or a ``{name: array}`` dict into a model. It works only through the model's
state_dict names (each module's ``_parameters`` / ``_buffers``, or ``named_parameters()`` /
``named_buffers()`` for other objects) and each tensor's ``.data``. The steps, in order:

1. read the file (by extension) unless ``source`` already is a dict;
2. ``prefix``: keep only file keys under it, with the prefix removed (``"backbone."``);
3. layout converters (layouts.py) when the file comes from Keras or ONNX;
4. ``key_map``: rename file keys (a dict or a callable; ``None`` drops a key);
5. ``ignore``: leave out model keys matching patterns (``"fc"``, ``"fc.*"``, ``"head.*"``) on both sides;
6. compare names and shapes, fill a :class:`LoadReport`;
7. if anything is wrong under ``strict``, raise ONE :class:`StateDictMismatchError` listing every
   problem -- and, because nothing has been assigned yet, the model is exactly as it was;
8. otherwise assign, keeping each parameter's dtype and device.
"""
import fnmatch
from collections import OrderedDict
from collections.abc import Mapping

import numpy

from ..core import backend, seams
from ..core.module import named_tensors
from .architecture import different_model_error
from .errors import StateDictMismatchError
from .formats import read_weights
from .layouts import converters_for
from .report import LoadReport
from .state import host_array, strip_key_prefix

OPTIONAL_KEYS = ("num_batches_tracked",)  # absent from files of torch < 0.4.1 and from Keras/ONNX


def matches(name: str, patterns) -> bool:
    """True if ``name`` matches a glob pattern, or equals it, or lies under it (``fc`` matches ``fc.weight``)."""
    return any(name == p or name.startswith(p + ".") or fnmatch.fnmatchcase(name, p) for p in patterns)


def strip_prefixes(prefixes=("module.", "_orig_mod.")):
    """A ``key_map`` callable that removes wrapper prefixes (DataParallel, torch.compile) from file keys."""

    def key_map(name):
        return strip_key_prefix(name, prefixes)

    return key_map


def _apply_key_map(weights, key_map, report):
    if key_map is None:
        return weights
    rename = key_map if callable(key_map) else (lambda name: key_map.get(name, name))
    result = OrderedDict()
    for name, array in weights.items():
        new_name = rename(name)
        if new_name is None:
            report.ignored.append(name)
        elif new_name in result:
            raise ValueError(f"key_map sends two file keys to {new_name!r}; make it one-to-one")
        else:
            result[new_name] = array
    return result


def _under_prefix(meta, prefix):
    """``meta`` with its layer list (Keras) cut to ``prefix`` the way the keys were; layers outside it drop out."""
    if not meta.get("layers"):
        return meta
    layers = [dict(layer, path=layer["path"].removeprefix(prefix), keys=[key[len(prefix):] for key in layer["keys"]])
              for layer in meta["layers"] if all(key.startswith(prefix) for key in layer["keys"])]
    return dict(meta, layers=layers)


def _resolve_converters(converters, weights):
    if converters == "auto":
        return converters_for(getattr(weights, "format", None))
    if converters is None:
        return []
    return list(converters) if isinstance(converters, (list, tuple)) else [converters]


def _find_module(model, path):
    """The submodule at dotted ``path`` (``layer1.0.bn1``), or None if it cannot be reached."""
    if hasattr(model, "get_submodule"):
        try:
            return model.get_submodule(path)
        except Exception:  # fall back to walking attributes
            pass
    node = model
    for part in path.split(".") if path else []:
        if hasattr(node, part):
            node = getattr(node, part)
        elif part.isdigit():
            try:
                node = node[int(part)]
            except Exception:
                return None
        else:
            return None
    return node


def _targets(model):
    """``{state_dict name: tensor}`` in state_dict order; a tied tensor appears under each of its names.

    Notice: ``named_parameters()`` lists a shared parameter once (an optimizer must step it once),
    but ``state_dict()`` lists it under every name (``dec.weight`` tied to ``enc.weight``), as torch
    does. A file saved from the model has both keys, so both must be targets: the names are
    ``nn.state_dict.named_tensors``, exactly what ``Module.state_dict`` writes.
    """
    if not hasattr(model, "_parameters"):  # any object with named_parameters / named_buffers
        targets = OrderedDict(model.named_parameters())
        targets.update(model.named_buffers())
        return targets
    return named_tensors(model)


def _compare(weights, targets, ignore, skip_mismatch, report):
    """Fill the report; return the ``[(tensor, array)]`` pairs to assign."""
    assignments, first_name = [], {}  # id(tensor) -> the first name it was loaded under (tied weights)
    for name, tensor in targets.items():
        if matches(name, ignore):
            report.ignored.append(name)
            continue
        if name not in weights:
            if name.rsplit(".", 1)[-1] in OPTIONAL_KEYS:
                report.converted.append((name, "not in the file (older PyTorch, Keras, ONNX): kept the model's value"))
            else:
                report.missing.append(name)
            continue
        array, expected = weights[name], tuple(tensor.data.shape)
        if tuple(array.shape) != expected:
            report.mismatched.append((name, expected, tuple(array.shape)))
            continue
        report.loaded.append(name)
        report.shapes[name] = expected
        earlier = first_name.setdefault(id(tensor), name)
        if earlier != name and not numpy.array_equal(weights[earlier], array):
            report.converted.append((name, f"shares its tensor with {earlier}, but the file gives the two different "
                                           f"values: {name}'s (the later one) was kept"))
        assignments.append((tensor, array))
    for name in weights:
        if name not in targets:
            (report.ignored if matches(name, ignore) else report.unexpected).append(name)
        elif matches(name, ignore) and name not in report.ignored:
            report.ignored.append(name)
    return assignments


def _error(report, strict, skip_mismatch):
    problems = report.problems(include_mismatched=not skip_mismatch) if strict else \
        ([] if skip_mismatch else [p for p in report.problems() if p.startswith("shape mismatch")])
    if not problems:
        return None
    hints = []
    if report.mismatched and not skip_mismatch:
        hints.append("ignore=['<head>'] leaves a replaced head out; skip_mismatch=True skips mismatched keys")
    if report.missing or report.unexpected:
        hints.append("strict=False accepts missing/unexpected keys; key_map= renames file keys; prefix= selects a "
                     "sub-tree of the file")
    message = (f"{report.summary()}\n{len(problems)} problem(s); the model was NOT changed:\n  "
               + "\n  ".join(problems) + ("\nWhat to do: " + "; ".join(hints) if hints else ""))
    return StateDictMismatchError(message, report)


def _assign(assignments, settings, model, report):
    """Assign all values; if anything fails part-way, put every old value back and re-raise."""
    done = []
    try:
        for tensor, array in assignments:
            old = tensor.data
            xp = backend.get_array_module(old)
            # xp.array copies: the model must never share memory with the dict it was loaded from.
            tensor.data = xp.array(array, dtype=old.dtype)
            done.append((tensor, "data", old))
        for path, attribute, value, why in settings:
            module = _find_module(model, path)
            if module is not None and hasattr(module, attribute):
                done.append((module, attribute, getattr(module, attribute)))
                setattr(module, attribute, value)
                report.converted.append((f"{path}.{attribute}" if path else attribute, why))
            else:
                report.converted.append((f"{path}.{attribute}", f"NOT set ({why}): the model has no such attribute"))
    except BaseException:
        for owner, attribute, old in reversed(done):
            setattr(owner, attribute, old)
        raise


def load_into(model, source, strict=True, prefix=None, ignore=(), key_map=None, skip_mismatch=False,
              converters="auto") -> LoadReport:
    """Load ``source`` (a path or a ``{name: array}`` dict) into ``model``; return a :class:`LoadReport`.

    ``strict``: missing or unexpected keys are an error. Shape mismatches are always an error unless
    ``skip_mismatch=True`` (then those keys keep their values and are listed). ``ignore``: patterns
    of keys to leave out on both sides (the old head). ``converters="auto"`` rearranges Keras/ONNX
    layouts; ``None`` turns that off; a callable or list of callables replaces it (see layouts.py).
    Notice: on any error nothing has been assigned, so the model is exactly as before the call.
    """
    weights = source if isinstance(source, Mapping) else read_weights(source)
    meta = getattr(weights, "meta", {}) or {}
    ignore = (ignore,) if isinstance(ignore, str) else tuple(ignore or ())
    report = LoadReport(source=getattr(weights, "path", None) or getattr(weights, "format", None) or
                        (None if isinstance(source, Mapping) else str(source)), target=type(model).__name__)
    targets = _targets(model)
    current = OrderedDict((name, host_array(value)) for name, value in weights.items())
    if prefix:
        current = OrderedDict((name[len(prefix):], array) for name, array in current.items() if name.startswith(prefix))
        meta = _under_prefix(meta, prefix)
    settings = []
    for converter in _resolve_converters(converters, weights):
        conversion = converter(current, meta, OrderedDict((n, tuple(t.data.shape)) for n, t in targets.items()))
        current = conversion.weights
        report.converted += conversion.notes
        settings += conversion.settings
    current = _apply_key_map(current, key_map, report)
    assignments = _compare(current, targets, ignore, skip_mismatch, report)
    settings = [s for s in settings if not matches(f"{s[0]}.{s[1]}", ignore)]
    error = different_model_error(report, meta, type(model).__name__, list(current), list(targets), strict,
                                  getattr(weights, "path", None)) \
        or _error(report, strict, skip_mismatch)
    if error is not None:
        raise error
    _assign(assignments, settings, model, report)
    return report


seams.plug("load_state_dict", load_into)  # Module.load_state_dict and Module.load call it (the spine imports no wing)
