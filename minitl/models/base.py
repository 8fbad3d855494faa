"""What every reference model shares: a backbone, a head, ordered blocks, and ``replace_head``.

Transfer learning in one sentence: keep the backbone (what was learned on the source task), swap
the head for one with the target task's number of classes, then decide which blocks to train.
"""
from pathlib import Path

from .. import weights as registry
from ..core.layers import Linear
from ..core.module import Module
from ..io.errors import WeightFormatError


class TransferModel(Module):
    """A Module with ``head`` (the last Linear), ``backbone`` (everything before) and ``blocks()``.

    Subclasses set ``head_path``: the dotted name of the head Linear (e.g. ``"head"`` or ``"fc"``).
    ``model.head = Linear(...)`` works on every model. ``model.fc = ...`` (torchvision's habit) is
    refused where the head has another name: it would add a module forward never calls, and the output
    would silently keep its old classes. One name per head, the one its state_dict keys use.
    """

    head_path = "head"

    def __setattr__(self, name, value):
        if name == "fc" and self.head_path != "fc" and isinstance(value, Module) and "fc" not in self._modules \
                and self._head_is_built():
            head = self.head
            raise AttributeError(
                f"{type(self).__name__} has no 'fc': its head is '{self.head_path}' ({type(head).__name__}"
                f"({head.in_features} -> {head.out_features})); a module put at 'fc' would never be called by "
                f"forward and the output would keep {head.out_features} classes. Write model.head = "
                f"Linear({head.in_features}, k), or model.replace_head(k)")
        super().__setattr__(name, value)

    def _head_parent_and_name(self):
        *parents, name = self.head_path.split(".")
        owner = self
        for part in parents:  # walk the registry directly: ``head`` may itself be this property's name
            owner = owner._modules[part]
        return owner, name

    def _head_is_built(self):
        try:
            self.head
        except (KeyError, AttributeError):  # still in __init__: the head is not there yet
            return False
        return True

    @property
    def head(self):
        """The classifier's last Linear layer, the one ``replace_head`` swaps."""
        owner, name = self._head_parent_and_name()
        return owner._modules[name]

    @head.setter
    def head(self, module):
        # ``model.head = Linear(...)`` installs it where the head lives (``fc``, ``classifier.5``),
        # not as a stray extra child that forward never calls.
        owner, name = self._head_parent_and_name()
        owner.add_module(name, module)

    def replace_head(self, num_classes):
        """Put a fresh, trainable ``Linear(in_features, num_classes)`` in place of the head; return it.

        The new head lives on the old head's device. Its keys keep the old names, so a pretrained
        file loaded with ``ignore=model.head_keys()`` skips the old head's weights.
        """
        old = self.head
        new = Linear(old.in_features, num_classes, bias=old.bias is not None, device=old.weight.device)
        owner, name = self._head_parent_and_name()
        owner.add_module(name, new)
        self.num_classes = num_classes
        if isinstance(getattr(self, "config", None), dict) and "num_classes" in self.config:
            self.config["num_classes"] = num_classes
        return new

    def head_keys(self):
        """The state_dict keys that belong to the head (``fc.weight``, ``fc.bias``)."""
        return [f"{self.head_path}.{k}" for k in self.head.state_dict()]

    def load_weights(self, path, skip_head=False, **options):
        """``Module.load`` that can leave the head out: ``skip_head=True`` ignores the head's keys
        in the file and in the model, so a pretrained backbone loads into a model with a new head."""
        if skip_head:
            options["ignore"] = tuple(options.get("ignore", ())) + tuple(self.head_keys())
        return self.load(path, **options)


def build(model, weights=None):
    """Finish a model constructor: load ``weights``, which every model's ``weights=`` accepts as

    - None: random initialisation;
    - a shipped name (``"fashion-paired"``, ``"fashion-default"``; see ``minitl.weights.list()``):
      the file's sha256 is checked, the backbone must fit exactly, and the head is always replaced
      by a fresh one and listed in ``model.load_report.replaced``;
    - a path to a weight file (any format ``Module.load`` reads). A head whose shape differs from
      the file's (the transfer case: ``SmallCNN(num_classes=5, weights=...)`` from a 10-class file)
      is left freshly initialised and reported as mismatched; every other key must load.
    The report is kept as ``model.load_report``.
    """
    if isinstance(weights, str) and registry.is_registered(weights):
        record = registry.entry(weights)
        if record["architecture"] != type(model).__name__:
            raise ValueError(f"weights={weights!r} are for {record['architecture']}, not {type(model).__name__}; "
                             f"see minitl.weights.list()")
        model.load_report = registry.load_named(model, weights)
        return model
    if isinstance(weights, str) and not Path(weights).suffix and not Path(weights).exists():
        # no extension and no such file: a mistyped shipped name, not a weight file of an unknown format
        raise ValueError(f"weights={weights!r}: {registry.unknown_name_message(weights)} "
                         f"(or give the path of a weight file)")
    if weights is not None:
        head_keys = set(model.head_keys())
        report = model.load_weights(weights, strict=False, skip_mismatch=True)
        problems = [k for k in report.missing + report.unexpected if k not in head_keys]
        problems += [m[0] for m in report.mismatched if m[0] not in head_keys]
        if problems:
            raise WeightFormatError(weights, f"does not fit {type(model).__name__} beyond its head:\n{report}")
        model.load_report = report
    return model
