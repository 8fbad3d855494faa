"""FeatureCache: the same losses and accuracy as the uncached run, automatic invalidation, refusals."""
import numpy
import pytest

import minitl
from minitl import transfer
from minitl.data import ArrayDataset, Compose, DataLoader, Normalize, RandomShift
from minitl.models import SmallCNN, resnet8
from minitl.optim import SGD
from minitl.train import GradualUnfreezing, fit
from minitl.transfer import FeatureCache, FeatureCacheError


def small_set(n=40, seed=0, size=16):
    rng = numpy.random.default_rng(seed)
    images = (rng.random((n, 1, size, size)) * 255).astype(numpy.uint8)
    return ArrayDataset(images, numpy.arange(n) % 5, [str(i) for i in range(5)], transform=Normalize(0.5, 0.3))


def run(cached, strategy, build=lambda: SmallCNN(num_classes=5), epochs=2, callbacks=()):
    minitl.manual_seed(0)
    model = transfer.get_strategy(strategy[0], **strategy[1]).apply(build())
    optimizer = SGD(model, lr=0.05, momentum=0.9)
    data = small_set()
    if cached:
        cache = FeatureCache(model, data, batch_size=16)
        history = fit(cache.rest, optimizer, cache.loader(batch_size=8, shuffle=True, seed=3), epochs=epochs,
                      verbose=False, callbacks=callbacks)
        return history, model, cache
    history = fit(model, optimizer, DataLoader(data, batch_size=8, shuffle=True, seed=3), epochs=epochs,
                  verbose=False, callbacks=callbacks)
    return history, model, None


@pytest.mark.parametrize("strategy", [("fe", {}), ("surgical", {"block": 2})], ids=["fe", "surgical-block3"])
def test_cached_equals_uncached_to_float32_round_off(strategy):
    plain, plain_model, _ = run(False, strategy)
    cached, cached_model, cache = run(True, strategy)
    numpy.testing.assert_allclose(cached.step_losses, plain.step_losses, rtol=1e-5, atol=1e-6)
    assert cached["train_accuracy"] == plain["train_accuracy"]
    for (name, a), b in zip(plain_model.state_dict().items(), cached_model.state_dict().values()):
        numpy.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6, err_msg=name)
    assert cache.builds == 1 and cache.build_seconds > 0
    assert cache.cut == {"fe": 3, "surgical": 2}[strategy[0]]


def test_resnet_chain_is_cached_too():
    plain, _, _ = run(False, ("fe", {}), build=lambda: resnet8(num_classes=5, in_channels=1), epochs=1)
    cached, _, cache = run(True, ("fe", {}), build=lambda: resnet8(num_classes=5, in_channels=1), epochs=1)
    numpy.testing.assert_allclose(cached.step_losses, plain.step_losses, rtol=1e-5, atol=1e-6)
    assert cache.features_dataset().features.shape == (40, 64, 1, 1)  # after avgpool: the fc's input


def test_invalidated_when_a_frozen_weight_changes():
    model = transfer.get_strategy("fe").apply(SmallCNN(num_classes=5))
    cache = FeatureCache(model, small_set())
    assert not cache.refresh()  # nothing changed: no rebuild
    old = cache.features_dataset().features.copy()
    model.backbone.block2[0].weight.data[0] += 1.0
    assert cache.is_stale()
    list(cache.loader(batch_size=10))  # an epoch starts: the fingerprint is checked
    assert cache.builds == 2
    assert not numpy.allclose(cache.features_dataset().features, old)


def test_the_fingerprint_is_checked_once_an_epoch(monkeypatch):
    """fit asks the loader's length and iterates it each epoch; only the iteration checks the fingerprint
    (hashing the frozen weights and the data is the cost of a tiny epoch, as in compare's n = 1 cells)."""
    checks = []
    original = FeatureCache.compute_fingerprint
    monkeypatch.setattr(FeatureCache, "compute_fingerprint",
                        lambda self, cut: checks.append(cut) or original(self, cut))
    _, _, cache = run(True, ("fe", {}), epochs=3)
    assert cache.builds == 1
    assert len(checks) == 1 + 3  # the build's own fingerprint, then one check per epoch


def test_invalidated_when_a_block_is_unfrozen():
    minitl.manual_seed(0)
    model = transfer.get_strategy("gradual").apply(SmallCNN(num_classes=5))
    cache = FeatureCache(model, small_set())
    assert cache.cut == 3
    optimizer = SGD(model, lr=0.05)
    fit(cache.rest, optimizer, cache.loader(batch_size=10), epochs=2, callbacks=[GradualUnfreezing(every=1)],
        verbose=False)
    assert cache.builds == 2 and cache.cut == 2  # block3 unfrozen at epoch 2: the cut moved down
    assert cache.features_dataset().features.shape[1:] == (64, 4, 4)


def test_invalidated_when_the_data_changes():
    model = transfer.get_strategy("fe").apply(SmallCNN(num_classes=5))
    data = small_set()
    cache = FeatureCache(model, data)
    data.images[0] = 255 - data.images[0]
    assert cache.refresh() and cache.builds == 2
    cache.dataset = small_set(seed=1)
    assert cache.refresh() and cache.builds == 3


def test_augmentation_is_refused():
    model = transfer.get_strategy("fe").apply(SmallCNN(num_classes=5))
    data = small_set()
    data.transform = Compose([RandomShift(2, seed=0), Normalize(0.5, 0.3)])
    with pytest.raises(FeatureCacheError, match="(?s)random transform.*augmentation"):
        FeatureCache(model, data)


def test_nothing_trainable_is_refused():
    model = SmallCNN(num_classes=5).freeze()
    with pytest.raises(FeatureCacheError, match="nothing .* is trainable"):
        FeatureCache(model, small_set())
