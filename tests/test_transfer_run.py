"""run_strategy and Seeds: three separate seeds, each recorded, each changing only its own part."""
import numpy

import minitl
from minitl.core.random import get_rng
from minitl.data import ArrayDataset
from minitl.models import SmallCNN
from minitl.transfer import Seeds, run_strategy, seeded


def data(n=40, seed=0):
    rng = numpy.random.default_rng(seed)
    labels = numpy.arange(n) % 2
    images = rng.random((n, 1, 12, 12)) * 0.3 + labels[:, None, None, None] * 0.6
    return ArrayDataset(images.astype(numpy.float32), labels, ["dark", "bright"])


def one(seeds, strategy="fe"):
    minitl.manual_seed(0)
    return run_strategy(strategy, lambda: SmallCNN(num_classes=2), data(), data(20, seed=1), n_per_class=4,
                        seeds=seeds, epochs=1, lr=0.05, batch_size=4)


def test_result_records_seeds_and_times():
    result = one(Seeds(subset=1, head=2, order=3))
    assert result["seeds"] == {"subset": 1, "head": 2, "order": 3}
    assert result["strategy"] == "fe" and result["trainable"] == 128 * 2 + 2
    assert 0.0 <= result["test_accuracy"] <= 1.0 and set(result["seconds"]) == {"cache", "train", "evaluate"}
    assert "FeatureExtraction" in result["describe"]


def test_each_seed_changes_the_run_and_the_same_seeds_repeat_it():
    base = one(Seeds(0, 0, 0))
    assert one(Seeds(0, 0, 0))["train_loss"] == base["train_loss"]
    for changed in (Seeds(1, 0, 0), Seeds(0, 1, 0), Seeds(0, 0, 1)):
        assert one(changed)["train_loss"] != base["train_loss"], changed


def test_seeded_leaves_the_global_stream_where_it_was():
    minitl.manual_seed(5)
    expected = numpy.random.default_rng(5).random(3)
    with seeded(123):
        inside = get_rng().random(2)
    numpy.testing.assert_array_equal(get_rng().random(3), expected)
    with seeded(123):
        numpy.testing.assert_array_equal(get_rng().random(2), inside)
