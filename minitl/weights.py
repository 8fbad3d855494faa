"""The shipped-weights registry: names -> files in the top-level ``weights/`` folder, sha256 checked.

    minitl.weights.list()                          what ships (one dict per entry, sorted by name)
    SmallCNN(num_classes=5, weights="fashion-paired")   load by name, as torchvision does
    minitl.weights.source_model("fashion-paired")  the pretrained network with its *source* head
    minitl weights                                 the same list on the command line

``weights/manifest.json`` holds one entry per name: the file, its sha256 and size, the
architecture and its arguments, the source classes (numbers and names), the input normalisation
(mean/std), the recipe that trained it (epochs, batch, lr schedule, momentum, weight decay, seed,
minitl version) and the source test accuracy. ``minitl pretrain`` writes both (``publish``).

Every load checks the file's sha256 against the manifest first and refuses a mismatch
(``WeightChecksumError``, naming the file): a truncated download or an edited file never reaches
a model. A named load always replaces the head (the source task's classes mean nothing on the
target task) and says so in the ``LoadReport`` (``report.replaced``), never silently.

Where the folder is: ``$MINITL_WEIGHTS`` if set; else, in an installed copy (a wheel, ``pip install
git+URL``), ``minitl/_shipped_weights/``, which the build copies from the top-level ``weights/``
(setup.py); else ``weights/`` beside the ``minitl`` package (a checkout or an
editable install).
"""
import builtins
import difflib
import hashlib
import json
import os
from pathlib import Path

from .atomic import atomic_write
from .io.errors import WeightFormatError
from .io.native import save

MANIFEST = "manifest.json"
SHIPPED = Path(__file__).resolve().parent / "_shipped_weights"  # what a wheel carries; absent in a checkout
CHECKOUT = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_ENV = "MINITL_WEIGHTS"
REGISTRY_FORMAT = "minitl-weights-registry"


class WeightChecksumError(WeightFormatError):
    """A shipped weight file whose sha256 differs from the one its manifest records."""


def folder(where=None) -> Path:
    """The weights folder: ``where``, else ``$MINITL_WEIGHTS``, else the installed copy's, else the checkout's."""
    if where is not None:
        return Path(where)
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV]).expanduser()
    if (SHIPPED / MANIFEST).is_file():
        return SHIPPED
    return CHECKOUT


def read_manifest(where=None) -> dict:
    """``{name: entry}`` from ``weights/manifest.json`` (empty when the folder has none)."""
    path = folder(where) / MANIFEST
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise WeightFormatError(path, f"is not valid JSON ({error}); restore it from the repository") from error
    if document.get("format") != REGISTRY_FORMAT or not isinstance(document.get("weights"), dict):
        raise WeightFormatError(path, f"is not a minitl weights manifest (format {REGISTRY_FORMAT!r} expected)")
    return document["weights"]


def entry(name, where=None) -> dict:
    """The manifest entry of ``name`` (with ``"name"`` added); a clear error listing the names if unknown."""
    entries = read_manifest(where)
    if name not in entries:
        raise KeyError(unknown_name_message(name, where))
    return dict(entries[name], name=name)


def unknown_name_message(name, where=None) -> str:
    """"no shipped weights named 'fashion-pair'; known: ...; did you mean 'fashion-paired'?" (closest by difflib)."""
    entries = sorted(read_manifest(where))
    known = ", ".join(entries) or "none (run `minitl pretrain`)"
    close = difflib.get_close_matches(str(name), entries, n=1)
    return f"no shipped weights named {name!r}; known: {known}" + (f"; did you mean {close[0]!r}?" if close else "")


def list(where=None):  # noqa: A001 - the torchvision-style name the issue asks for
    """One dict per shipped entry, sorted by name (``name``, ``file``, ``architecture``, accuracy, ...)."""
    entries = read_manifest(where)
    return [dict(entries[name], name=name) for name in sorted(entries)]


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(name, where=None) -> Path:
    """The file of ``name`` after checking its sha256; raises ``WeightChecksumError`` on a mismatch."""
    record = entry(name, where)
    path = folder(where) / record["file"]
    if not path.is_file():
        raise WeightFormatError(path, f"is listed in {MANIFEST} as {name!r} but is missing; restore weights/")
    actual = sha256_of(path)
    if actual != record["sha256"]:
        raise WeightChecksumError(path, f"has sha256 {actual[:16]}... but {MANIFEST} records "
                                        f"{record['sha256'][:16]}... for {name!r}: the file was changed or is "
                                        "incomplete. Restore it (git checkout weights/) or rerun `minitl pretrain`")
    return path


def entry_for_file(path, where=None):
    """The manifest entry (with ``name``) whose file is ``path``, or None (used by ``minitl inspect``)."""
    path = Path(path).resolve()
    for record in list(where):
        if (folder(where) / record["file"]).resolve() == path:
            return record
    candidate = path.parent / MANIFEST  # a file inspected inside another weights folder
    if candidate.is_file() and candidate.parent != folder(where).resolve():
        return entry_for_file(path, path.parent)
    return None


def is_registered(name, where=None) -> bool:
    return isinstance(name, str) and name in read_manifest(where)


def load_named(model, name, where=None, keep_head=False):
    """Load the shipped weights ``name`` into ``model``; returns the ``LoadReport``.

    The backbone must fit exactly. The head is replaced (``keep_head=False``): the file's head keys
    are left out and listed in ``report.replaced``. ``keep_head=True`` loads the source head too.
    The manifest's ``normalization`` (mean, std) is kept as ``model.input_normalization``.
    """
    path = verified_path(name, where)
    head_keys = builtins.list(model.head_keys())
    source = entry(name, where)
    # the pixel statistics the weights were trained with: a guard warns when a batch is far outside them
    model.input_normalization = source.get("normalization")
    if keep_head:
        return model.load(path, strict=True)
    report = model.load(path, strict=True, ignore=head_keys)
    why = (f"new head for {model.num_classes} classes (fresh init); the file's head was trained on "
           f"{len(source.get('source_classes', []))} source classes")
    report.replaced = [(key, why) for key in head_keys]
    report.ignored = [key for key in report.ignored if key not in head_keys]
    return report


def source_model(name, where=None):
    """The pretrained network of ``name`` exactly as it was trained, source head included."""
    from . import models  # noqa: PLC0415 - a cycle: models/base.py imports this registry (weights=NAME)

    record = entry(name, where)
    model = getattr(models, record["architecture"])(**record["arguments"])
    model.load_report = load_named(model, name, where, keep_head=True)
    return model


def publish(model, name, record, where=None):
    """Save ``model`` as ``weights/<record['file']>`` and add/replace ``name`` in the manifest.

    ``record`` is the JSON-able entry (architecture, classes, normalisation, recipe, accuracy);
    ``sha256`` and ``size_bytes`` are added here from the written file. Both writes are atomic.
    """
    target = folder(where)
    target.mkdir(parents=True, exist_ok=True)
    path = target / record["file"]
    normalization = record.get("normalization", {})
    save(model, path, meta={"architecture": record.get("architecture"), "arguments": record.get("arguments"),
                            "class_names": record.get("source_class_names"), "mean": normalization.get("mean"),
                            "std": normalization.get("std"), "weights_name": name})
    return register_file(name, record, where)


def register_file(name, record, where=None):
    """Add/replace ``name`` in the manifest for the existing file ``weights/<record['file']>``.

    ``sha256`` and ``size_bytes`` are measured here; the manifest is rewritten atomically, sorted.
    Used by ``publish`` and by ``scripts/export_pretrained_pth.py`` (a file torch.save wrote).
    """
    target = folder(where)
    path = target / record["file"]
    entries = read_manifest(target)
    entries[name] = dict(record, sha256=sha256_of(path), size_bytes=path.stat().st_size)
    document = {"format": REGISTRY_FORMAT, "weights": {key: entries[key] for key in sorted(entries)}}
    with atomic_write(target / MANIFEST) as file:
        file.write((json.dumps(document, indent=1) + "\n").encode("utf-8"))
    return entries[name]
