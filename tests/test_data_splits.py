"""Transfer splits: class_subset relabelling, few_shot exact counts, train_val_split, named splits."""
import numpy
import pytest

import minitl
from minitl.data import (
    FASHION_SPLITS,
    ArrayDataset,
    Normalize,
    class_subset,
    define_split,
    fashion_split,
    few_shot,
    train_val_split,
)
from minitl.data.errors import DatasetError

NAMES = ["zero", "one", "two", "three", "four", "five"]


def make_dataset(per_class=(5, 6, 7, 8, 9, 10)):
    labels = numpy.concatenate([numpy.full(n, c) for c, n in enumerate(per_class)])
    images = numpy.arange(len(labels), dtype=numpy.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)
    return ArrayDataset(images, labels, NAMES, name="toy")


def ids(dataset):
    """Which original images a subset holds (the pixel value is the original index)."""
    return numpy.rint(dataset.get_batch(numpy.arange(len(dataset)))[0][:, 0, 0, 0] * 255).astype(int)


def test_class_subset_relabels_in_given_order():
    base = make_dataset()
    part = class_subset(base, [4, 2])
    assert part.classes == ["four", "two"]
    assert sorted(set(part.labels.tolist())) == [0, 1] and len(part) == 9 + 7
    numpy.testing.assert_array_equal(numpy.where(base.labels[ids(part)] == 4, 0, 1), part.labels)


def test_class_subset_by_name_and_without_relabel():
    part = class_subset(make_dataset(), ["five", "zero"], relabel=False)
    assert part.classes == NAMES and set(part.labels.tolist()) == {0, 5}
    with pytest.raises(DatasetError, match="no class named 'six'"):
        class_subset(make_dataset(), ["six"])
    with pytest.raises(DatasetError, match="twice"):
        class_subset(make_dataset(), [1, "one"])


@pytest.mark.parametrize("n", [1, 3, 5])
def test_few_shot_exact_counts(n):
    part = few_shot(make_dataset(), n, seed=0)
    assert list(part.class_counts().values()) == [n] * 6
    assert len(set(ids(part).tolist())) == 6 * n  # no image twice
    numpy.testing.assert_array_equal(ids(part), numpy.sort(ids(part)))


def test_few_shot_seeded_and_global_seed():
    base = make_dataset()
    numpy.testing.assert_array_equal(ids(few_shot(base, 3, seed=4)), ids(few_shot(base, 3, seed=4)))
    assert not numpy.array_equal(ids(few_shot(base, 3, seed=4)), ids(few_shot(base, 3, seed=5)))
    minitl.manual_seed(1)
    first = ids(few_shot(base, 2))
    minitl.manual_seed(1)
    numpy.testing.assert_array_equal(ids(few_shot(base, 2)), first)


def test_few_shot_too_few_names_the_class():
    with pytest.raises(DatasetError, match="'zero' has 5; 'one' has 6"):
        few_shot(make_dataset(), 7, seed=0)


def test_few_shot_after_class_subset_keeps_names():
    part = few_shot(class_subset(make_dataset(), [3, 5]), 4, seed=0)
    assert part.classes == ["three", "five"] and part.class_counts() == {"three": 4, "five": 4}


def test_train_val_split_stratified():
    train, val = train_val_split(make_dataset(per_class=(10, 20, 30, 10, 10, 20)), 0.2, seed=0)
    assert list(val.class_counts().values()) == [2, 4, 6, 2, 2, 4]
    assert len(train) + len(val) == 100
    assert not set(ids(train).tolist()) & set(ids(val).tolist())


def test_train_val_split_unstratified_and_errors():
    train, val = train_val_split(make_dataset(), 0.25, seed=1, stratified=False)
    assert len(val) == round(45 * 0.25) and len(train) == 45 - len(val)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        train_val_split(make_dataset(), 1.0)


def test_named_fashion_splits_on_bundled_sample():
    source = fashion_split("A", subset="mini")
    target = fashion_split("B", train=False, subset="mini")
    assert source.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    assert target.classes == ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert set(source.labels.tolist()) == set(range(5)) == set(target.labels.tolist())
    assert list(target.class_counts().values()) == [300] * 5
    norm = Normalize.from_dataset(source)
    assert 0.2 < norm.mean[0] < 0.4 and 0.25 < norm.std[0] < 0.45


def test_define_split(monkeypatch):
    monkeypatch.setattr("minitl.data.splits.FASHION_SPLITS", dict(FASHION_SPLITS))
    define_split("shoes", ["Sandal", 7, "Ankle boot"])
    shoes = fashion_split("shoes", train=False, subset="mini")
    assert shoes.classes == ["Sandal", "Sneaker", "Ankle boot"] and len(shoes) == 900
    with pytest.raises(DatasetError, match="define_split"):
        fashion_split("hats", subset="mini")
    with pytest.raises(DatasetError, match="not a Fashion-MNIST class"):
        define_split("bad", ["Hat"])


def test_train_val_split_rounds_half_up_and_keeps_small_classes_in_both_parts():
    train, val = train_val_split(make_dataset(per_class=(2, 2, 10, 5, 3, 4)), 0.1, seed=0)
    assert list(val.class_counts().values()) == [1, 1, 1, 1, 1, 1]  # never a whole class in one part
    assert min(train.class_counts().values()) >= 1
    _, val = train_val_split(make_dataset(per_class=(5, 5, 5, 5, 5, 5)), 0.5, seed=0)
    assert list(val.class_counts().values()) == [3] * 6  # 2.5 rounds up, not to the even 2
    single = ArrayDataset(numpy.zeros((3, 2, 2), numpy.uint8), [0, 1, 2], name="singles")
    with pytest.raises(DatasetError, match=r"(?s)one image.*stratified=False"):
        train_val_split(single, 0.5, seed=0)


def test_few_shot_and_the_build_script_draw_with_few_shot_indices():
    from minitl.data.splits import few_shot_indices

    base = make_dataset()
    chosen = few_shot_indices(base.labels, 3, numpy.random.default_rng(7))
    numpy.testing.assert_array_equal(ids(few_shot(base, 3, seed=7)), chosen)
    with pytest.raises(DatasetError, match="label 0 has 5"):
        few_shot_indices(base.labels, 6, numpy.random.default_rng(0))
