"""``minitl.save`` and ``minitl.load``: one pair of calls for every weight file, chosen by the file's name.

A PyTorch user writes ``torch.save(model.state_dict(), "model.pt")`` and ``torch.load("model.pt",
weights_only=True)``; the same lines work here. The extension picks the format, so a ``.pt`` name
always holds a real PyTorch file (``save_torch``) that ``torch.load`` opens, never an ``.npz`` in
disguise. Any other name gets minitl's own ``.npz`` with its manifest (architecture, classes,
mean/std), the format that carries the most about the model.
"""
import os

from .errors import WeightFormatError
from .formats import READERS, read_weights
from .native import load as load_native
from .native import save as save_native
from .safetensors import save_safetensors
from .torch_writer import save_torch

TORCH_NAMES = (".pt", ".pth")


def save(obj, path, meta=None) -> None:
    """Write a model or state_dict to ``path``, atomically; the extension chooses the format.

    ``.pt`` / ``.pth``: a PyTorch zip file (``minitl.io.save_torch``), readable by
    ``torch.load(path, weights_only=True)``; ``.safetensors``: ``save_safetensors``; anything else:
    minitl's ``.npz`` with a manifest (``minitl.io.save``), where ``meta`` (architecture, class_names,
    mean, std, ...) is stored. Notice that only the ``.npz`` keeps ``meta``: the other formats hold arrays.
    """
    name = os.fspath(path).lower()
    if name.endswith(TORCH_NAMES) or name.endswith(".safetensors"):
        if meta:
            raise WeightFormatError(path, "meta (architecture, class names, mean/std) is kept only in minitl's "
                                          ".npz files; save to a .npz name to keep it, or drop meta= for a "
                                          f"{os.path.splitext(name)[1]} file")
        (save_torch if name.endswith(TORCH_NAMES) else save_safetensors)(obj, path)
        return
    save_native(obj, path, meta)


def load(path, weights_only=True, map_location=None):
    """Read a weight file into an ordered ``{name: array}`` (a ``WeightDict``), choosing the reader by extension.

    ``weights_only`` and ``map_location`` are accepted so that ``torch.load`` lines run unchanged.
    minitl never runs code from a file, whatever ``weights_only`` says: a file that asks to is refused
    (``UnsafeWeightsError``); and arrays always come back on the host, to be moved with ``model.to``.
    An unknown extension is read as minitl's ``.npz``.
    """
    name = os.fspath(path).lower()
    if any(name.endswith(extensions) for extensions, _ in READERS):
        return read_weights(path)
    return load_native(path)
