"""Strategies about the head alone: ``Imprint`` (zero training steps) and ``LinearProbe(block=k)``.

* ``Imprint()`` (Qi et al. 2018): each row of the new head is the L2-normalised mean backbone
  feature of its class, the bias 0. Then ``head(f) = |f| * cos(f, mean_c)``, and since ``|f|`` is the
  same for every class, the prediction is the class whose mean feature points most nearly the same
  way as ``f``: a nearest-class-mean classifier, with no gradient step at all. A baseline for n = 1.
* ``LinearProbe(block=k)``: a linear classifier on the globally pooled features after block ``k``
  (earlier features are more generic: what CS231n advises for little, dissimilar data). ``apply``
  returns a new model, ``ProbeModel``, that shares (does not copy or take over) the frozen blocks
  0..k; its parameters are the original model's, so loading weights into one changes both.
"""
import numpy

from ...core.backend import get_array_module
from ...core.layers import Linear, Sequential
from ...core.module import Module
from ...core.ops.reduce import mean
from ...core.ops.shape import flatten
from ...core.tensor import no_grad
from ...models.base import TransferModel
from ...train.history import History
from ...train.loop import evaluate
from .base import Strategy
from .freezing import reset


def backbone_features(model, inputs):
    """(N, ...) inputs -> (N, D) features: the backbone's output, globally averaged and flattened."""
    features = model.backbone(inputs)
    if features.ndim == 4:
        features = mean(features, axis=(2, 3))
    return flatten(features, 1) if features.ndim > 2 else features


class Imprint(Strategy):
    """Head rows = normalised class-mean features; everything frozen; ``fit`` takes zero steps."""

    def apply(self, model):
        reset(model).freeze()
        return model

    def notes(self, model):
        return ["zero training steps: fit() sets each head row to its class's normalised mean feature"]

    def imprint(self, model, loader):
        """Set ``model.head`` from one eval-mode, no-grad pass over ``loader``; returns the class counts."""
        sums, counts = None, None
        with model.mode(training=False), no_grad():
            for inputs, targets in loader:
                features = backbone_features(model, inputs).data
                xp = get_array_module(features)
                labels = targets.data
                if sums is None:
                    sums = xp.zeros((model.num_classes, features.shape[1]), dtype=features.dtype)
                    counts = xp.zeros(model.num_classes, dtype=features.dtype)
                onehot = (labels[:, None] == xp.arange(model.num_classes)[None, :]).astype(features.dtype)
                sums += onehot.T @ features
                counts += onehot.sum(axis=0)
        if sums is None or bool((counts == 0).any()):
            raise ValueError("Imprint: every class needs at least one image in the loader")
        means = sums / counts[:, None]
        xp = get_array_module(means)
        model.head.weight.data[...] = means / xp.maximum(xp.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        if model.head.bias is not None:
            model.head.bias.data[...] = 0
        return [int(c) for c in numpy.asarray(counts.get() if hasattr(counts, "get") else counts)]

    def fit(self, model, train_loader, epochs=0, lr=0.0, momentum=0.9, weight_decay=0.0, val_loader=None,
            callbacks=(), verbose=False, stream=None):
        """No optimizer, no steps: imprint the head and return an empty History (one epoch record)."""
        counts = self.imprint(model, train_loader)
        record = {"epoch": 1, "steps": 0, "train_loss": None, "train_accuracy": None, "lr": None,
                  "imprinted_class_counts": counts, "trainable_blocks": []}
        if val_loader is not None:
            scores = evaluate(model, val_loader)
            record["val_loss"], record["val_accuracy"] = scores["loss"], scores["accuracy"]
        return History(epochs=[record])


class GlobalPool(Module):
    """(N, C, H, W) -> (N, C) by averaging over space; (N, C) passes through unchanged."""

    def forward(self, x):
        return mean(x, axis=(2, 3)) if x.ndim == 4 else x


def output_channels(block):
    """The channel count a block puts out: that of its last layer with ``out_channels``/``num_features``."""
    count = None
    for module in block.modules():
        for attribute in ("out_channels", "num_features", "out_features"):
            if hasattr(module, attribute):
                count = getattr(module, attribute)
    if count is None:
        raise ValueError(f"LinearProbe: cannot tell how many channels {type(block).__name__} puts out")
    return count


class ProbeModel(TransferModel):
    """Blocks 0..k of another model (shared, frozen), global pooling, a new Linear head."""

    def __init__(self, blocks, channels, num_classes):
        super().__init__()
        self.num_classes = num_classes
        # A view: the probe reads the blocks without taking them over (their parent stays the model).
        self.backbone = Sequential._view([(str(i), block) for i, block in enumerate(blocks)]
                                         + [(str(len(blocks)), GlobalPool())])
        self.head = Linear(channels, num_classes)

    def blocks(self):
        return [*list(self.backbone)[:-1], self.head]

    def forward(self, x):
        return self.head(self.backbone(x))


class LinearProbe(Strategy):
    """A linear classifier on the pooled features after ``model.blocks()[block]`` (backbone frozen)."""

    def __init__(self, block=-2):
        self.block = int(block)

    def options(self):
        return {"block": self.block}

    def apply(self, model):
        blocks = model.blocks()[:-1]
        if not -len(blocks) - 1 <= self.block < len(blocks):
            raise IndexError(f"LinearProbe(block={self.block}): {type(model).__name__} has backbone blocks "
                             f"0..{len(blocks) - 1}")
        index = self.block % (len(blocks) + 1)
        if index == len(blocks):
            raise IndexError(f"LinearProbe(block={self.block}) names the head; choose a backbone block")
        kept = blocks[:index + 1]
        for block in kept:
            block.freeze()
        probe = ProbeModel(kept, output_channels(kept[-1]), model.num_classes)
        probe.to(model.head.weight.device)
        return probe
