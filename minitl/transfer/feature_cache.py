"""FeatureCache: run the frozen prefix once, then train the rest of the network on cached features.

    model = get_strategy("fe").apply(SmallCNN(num_classes=5, weights="fashion-paired"))
    cache = FeatureCache(model, train_set)             # builds: one no-grad pass of the prefix
    optimizer = SGD(model, lr=0.01, momentum=0.9)
    fit(cache.rest, optimizer, cache.loader(batch_size=64, shuffle=True, seed=0), epochs=5)
    cache.build_seconds, cache.builds                  # its cost, reported apart from training

Why it is allowed (frozen, effect 5): below the first trainable layer nothing can change during
training. The frozen prefix is deterministic (eval mode; a frozen BatchNorm uses its running
statistics anyway, effect 4), so its output for an image is the same every epoch: compute it once.
Training ``cache.rest`` on the cached features gives the same losses and accuracy as training the
whole model, to float32 round-off, under the same seed (the loader draws the same order).

The model is seen as a chain: ``model.backbone``'s children, then ``model.head`` (flattened
before it). The cut is the first element holding a parameter that is not frozen (``requires_grad =
False`` alone is not enough: a BatchNorm there still uses batch statistics in training), or a
BatchNorm that is not frozen. A **fingerprint** of everything the features depend on (which
parameters are frozen, the prefix's weights and
buffers, the images, labels and transform) is checked at the start of every epoch of
``cache.loader()``; any change (a frozen weight edited, a block unfrozen by GradualUnfreeze, other
data) rebuilds the cache automatically. Refused with ``FeatureCacheError``: a random transform
(augmentation: each epoch must see new pixels, so nothing can be cached), a Dropout in the prefix,
a model that is not such a chain (checked numerically on the first batch), nothing trainable.
"""
import hashlib
import time

import numpy

from ..core.backend import asnumpy
from ..core.layers import Dropout, _BatchNorm
from ..core.module import Module
from ..core.ops.shape import flatten
from ..core.tensor import no_grad
from ..data.dataset import Dataset
from ..data.loader import DataLoader
from ..data.transforms import RandomCrop, RandomHorizontalFlip


class FeatureCacheError(ValueError):
    """The feature cache cannot be used for this model or data (the message says why and what to do)."""


def is_random_transform(transform):
    """True when ``transform`` (or anything inside a Compose) draws random numbers: augmentation."""
    if transform is None:
        return False
    parts = getattr(transform, "transforms", None)
    if parts is not None:
        return any(is_random_transform(part) for part in parts)
    return isinstance(transform, (RandomCrop, RandomHorizontalFlip)) or type(transform).__name__.startswith("Random")


def model_chain(model):
    """The model as a list of modules run one after another: backbone children, then the head."""
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(model, "head"):
        raise FeatureCacheError(f"FeatureCache: {type(model).__name__} has no backbone/head to cut between; "
                                "use a minitl.models model or train without the cache")
    return [*backbone.children(), model.head]


def run_chain(chain, x, start=0):
    """Apply ``chain[start:]`` to ``x``; the head (last) gets flattened features."""
    for index in range(start, len(chain)):
        if index == len(chain) - 1 and x.ndim > 2:
            x = flatten(x, 1)
        x = chain[index](x)
    return x


class CachedFeatures(Dataset):
    """The cached prefix outputs as a data set: ``get_batch(indices) -> (features, labels)``."""

    def __init__(self, features, labels, name):
        self.features, self.labels, self.name = features, labels, name
        self.classes = None

    def __len__(self):
        return len(self.labels)

    def get_batch(self, indices):
        return self.features[indices], self.labels[indices]


class ChainRest(Module):
    """``cache.rest``: runs the chain from the cache's current cut (moves when the cache rebuilds).

    It lists the model's chain as its children without taking them over (a view), so ``train()``,
    ``parameters()`` and ``blocks()`` (what GradualUnfreezing and the History read) are the model's.
    """

    def __init__(self, cache):
        super().__init__()
        object.__setattr__(self, "_cache", cache)
        for index, module in enumerate(cache.chain):
            self._modules[str(index)] = module  # a view: the model stays the layers' parent

    def blocks(self):
        return self._cache.model.blocks()

    def forward(self, features):
        return run_chain(self._cache.chain, features, self._cache.cut)


class CachedLoader:
    """A loader over the cache that checks the fingerprint (and rebuilds if stale) at each epoch."""

    def __init__(self, cache, **options):
        self.cache, self.options = cache, options

    def _loader(self, check):
        return DataLoader(self.cache.features_dataset(check=check), **self.options)

    def __len__(self):  # the number of batches: no fingerprint needed (fit asks every epoch)
        return len(self._loader(check=False))

    def __iter__(self):
        loader = self._loader(check=True)  # the one fingerprint check of the epoch
        if self.generator is not None:
            loader.generator = self.generator
        yield from loader

    @property
    def generator(self):
        if "_generator" not in self.__dict__:
            seed = self.options.get("seed")
            self._generator = None if seed is None else numpy.random.default_rng(seed)
        return self._generator

    @generator.setter
    def generator(self, value):  # checkpoints restore a loader's shuffle state through this
        self._generator = value


def changes_in_training(module) -> bool:
    """True when training can change what ``module`` computes for an image: a parameter that is not
    frozen, or a BatchNorm that is not frozen (batch statistics, running ones updated). frozen (effect 5):
    everything before the first such module can be computed once."""
    return (any(not p.frozen for p in module.parameters())
            or any(isinstance(m, _BatchNorm) and not m.frozen for m in module.modules()))


class FeatureCache:
    """Cached outputs of ``model``'s frozen prefix on ``dataset`` (see the module docstring)."""

    def __init__(self, model, dataset, batch_size=256, device=None):
        if is_random_transform(getattr(dataset, "transform", None)):
            raise FeatureCacheError(
                f"FeatureCache: {getattr(dataset, 'name', 'the data set')} has a random transform "
                f"({dataset.transform!r}): augmentation changes the pixels every epoch, so the features cannot "
                "be computed once. Remove the augmentation, or train without the cache")
        self.model, self.dataset, self.batch_size, self.device = model, dataset, int(batch_size), device
        self.chain = model_chain(model)
        self.rest = ChainRest(self)
        self.builds, self.build_seconds, self.fingerprint, self.cut = 0, 0.0, None, None
        self._features = None
        self.refresh()

    # ----- what the features depend on -----
    def find_cut(self):
        """Index of the first chain element that training can change; refuses what cannot be cut."""
        for index, module in enumerate(self.chain):
            if changes_in_training(module):
                prefix = self.chain[:index]
                dropouts = [m for block in prefix for m in block.modules() if isinstance(m, Dropout)]
                if dropouts:
                    raise FeatureCacheError("FeatureCache: the frozen prefix contains Dropout, which is random in "
                                            "training; the features would differ every epoch. Remove it, or train "
                                            "without the cache")
                return index
        raise FeatureCacheError(f"FeatureCache: nothing in {type(self.model).__name__} is trainable, so there is "
                                "nothing to train on cached features (unfreeze the head)")

    def compute_fingerprint(self, cut):
        """sha256 of the frozen set, the prefix's weights and buffers, and the data (images, labels, transform)."""
        digest = hashlib.sha256()
        digest.update(repr([(name, p.frozen) for name, p in self.model.named_parameters()]).encode())
        digest.update(str(cut).encode())
        for module in self.chain[:cut]:
            for name, array in module.state_dict().items():
                digest.update(name.encode())
                digest.update(numpy.ascontiguousarray(asnumpy(array)).tobytes())
        for attribute in ("images", "labels"):
            array = getattr(self.dataset, attribute, None)
            if array is not None:
                digest.update(numpy.ascontiguousarray(array).tobytes())
        digest.update(repr(getattr(self.dataset, "transform", None)).encode())
        digest.update(str(len(self.dataset)).encode())
        return digest.hexdigest()

    def is_stale(self):
        cut = self.find_cut()
        return cut != self.cut or self.compute_fingerprint(cut) != self.fingerprint

    def refresh(self):
        """Rebuild when the fingerprint changed; returns True when it rebuilt."""
        if self._features is not None and not self.is_stale():
            return False
        self.build()
        return True

    # ----- the one pass -----
    def build(self):
        """Run the prefix (eval mode, no_grad) over the whole data set once; store features on the host."""
        started = time.perf_counter()
        cut = self.find_cut()
        prefix = self.chain[:cut]
        loader = DataLoader(self.dataset, batch_size=self.batch_size, shuffle=False, device=self.device)
        chunks, labels, checked = [], [], False
        with self.model.mode(training=False), no_grad():
            for inputs, targets in loader:
                features = inputs
                for module in prefix:
                    features = module(features)
                if not checked:
                    self._check_clean_cut(inputs, features, cut)
                    checked = True
                chunks.append(asnumpy(features.data))
                labels.append(asnumpy(targets.data))
        self._features = CachedFeatures(numpy.concatenate(chunks), numpy.concatenate(labels),
                                        f"{getattr(self.dataset, 'name', 'data')}/features@{cut}")
        self.cut, self.fingerprint = cut, self.compute_fingerprint(cut)
        self.builds += 1
        self.build_seconds += time.perf_counter() - started

    def _check_clean_cut(self, inputs, features, cut):
        expected = self.model(inputs)
        try:
            got = run_chain(self.chain, features, cut)
        except (ValueError, TypeError) as error:
            got, problem = None, str(error)
        else:
            problem = "its output differs from model(x)"
        if got is None or got.shape != expected.shape or not numpy.allclose(
                asnumpy(got.data), asnumpy(expected.data), rtol=1e-4, atol=1e-5):
            raise FeatureCacheError(
                f"FeatureCache: {type(self.model).__name__} is not a clean chain at the first trainable layer "
                f"(chain element {cut}): running backbone children then the head, {problem}. Train without "
                "the cache, or freeze whole blocks")

    # ----- what training uses -----
    def features_dataset(self, check=True):
        """The cached features as a Dataset; ``check`` first rebuilds them if the fingerprint changed."""
        if check or self._features is None:
            self.refresh()
        return self._features

    def loader(self, batch_size=64, shuffle=False, seed=None, drop_last=False):
        """Batches of ``(features, labels)`` Tensors, checked for staleness at every epoch."""
        return CachedLoader(self, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last,
                            device=self.device)

    def __repr__(self):
        return (f"FeatureCache(cut at chain element {self.cut}, {len(self.dataset)} images, builds={self.builds}, "
                f"build_seconds={self.build_seconds:.3f})")


__all__ = ["FeatureCache", "FeatureCacheError", "is_random_transform", "model_chain", "run_chain"]
