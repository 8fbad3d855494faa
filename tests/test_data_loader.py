"""DataLoader: batch shapes and dtypes, drop_last, determinism under seed and manual_seed, devices."""
import numpy
import pytest

import minitl
from minitl.data import ArrayDataset, DataLoader, RandomShift
from minitl.data.dataset import Dataset
from minitl.data.errors import DatasetError


def make_dataset(count=10, transform=None):
    images = numpy.arange(count * 4 * 4, dtype=numpy.uint8).reshape(count, 4, 4)
    return ArrayDataset(images, numpy.arange(count) % 3, ["a", "b", "c"], transform=transform)


def order_of(loader):
    """The labels seen in one epoch, as one list (each image's first pixel identifies it)."""
    return [int(round(float(x) * 255)) // 16 for images, _ in loader for x in images.data[:, 0, 0, 0]]


def test_batch_shapes_and_dtypes():
    loader = DataLoader(make_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [images.shape for images, _ in batches] == [(4, 1, 4, 4), (4, 1, 4, 4), (2, 1, 4, 4)]
    images, labels = batches[0]
    assert isinstance(images, minitl.Tensor) and images.dtype == numpy.float32
    assert labels.dtype == numpy.int64 and labels.shape == (4,)
    assert 0.0 <= images.data.min() and images.data.max() <= 1.0
    assert not images.requires_grad


def test_unshuffled_order_and_drop_last():
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and order_of(loader) == list(range(8))
    assert len(DataLoader(make_dataset(3), batch_size=4, drop_last=True)) == 0


def test_shuffle_with_seed_is_reproducible_and_changes_per_epoch():
    first = DataLoader(make_dataset(), batch_size=3, shuffle=True, seed=7)
    second = DataLoader(make_dataset(), batch_size=3, shuffle=True, seed=7)
    epoch1, epoch2 = order_of(first), order_of(first)
    assert sorted(epoch1) == list(range(10))
    assert epoch1 != epoch2
    assert [order_of(second), order_of(second)] == [epoch1, epoch2]
    assert order_of(DataLoader(make_dataset(), batch_size=3, shuffle=True, seed=8)) != epoch1


def test_shuffle_follows_manual_seed():
    minitl.manual_seed(3)
    first = order_of(DataLoader(make_dataset(), batch_size=4, shuffle=True))
    minitl.manual_seed(3)
    assert order_of(DataLoader(make_dataset(), batch_size=4, shuffle=True)) == first


def test_labels_travel_with_images():
    loader = DataLoader(make_dataset(), batch_size=5, shuffle=True, seed=0)
    for images, labels in loader:
        ids = numpy.rint(images.data[:, 0, 0, 0] * 255).astype(int) // 16
        numpy.testing.assert_array_equal(labels.data, ids % 3)


def test_augmented_batches_reproducible_under_manual_seed():
    def run():
        minitl.manual_seed(11)
        loader = DataLoader(make_dataset(transform=RandomShift(1)), batch_size=4, shuffle=True)
        return numpy.concatenate([images.data for images, _ in loader])
    numpy.testing.assert_array_equal(run(), run())


def test_array_dataset_uses_one_get_batch_call_per_batch(monkeypatch):
    dataset = make_dataset(10)
    calls = []
    original = dataset.get_batch
    monkeypatch.setattr(dataset, "get_batch", lambda idx: calls.append(len(idx)) or original(idx))
    monkeypatch.setattr(type(dataset), "__getitem__",
                        lambda self, i: pytest.fail("no per-sample access for array data"))
    list(DataLoader(dataset, batch_size=4))
    assert calls == [4, 4, 2]


def test_per_sample_dataset_is_stacked():
    class Squares(Dataset):
        classes = ["x"]
        labels = numpy.zeros(5, numpy.int64)

        def load(self, index):
            return numpy.full((1, 2, 2), index / 10, numpy.float32)

    images, labels = next(iter(DataLoader(Squares(), batch_size=5)))
    assert images.shape == (5, 1, 2, 2)
    numpy.testing.assert_allclose(images.data[:, 0, 0, 0], numpy.arange(5) / 10)


def test_device(device):
    images, labels = next(iter(DataLoader(make_dataset(), batch_size=2, device=device)))
    assert images.device == device and labels.device == device


def test_bad_arguments():
    with pytest.raises(DatasetError, match="batch_size"):
        DataLoader(make_dataset(), batch_size=0)
    with pytest.raises(DatasetError, match="ArrayDataset"):
        DataLoader([(1, 2)], batch_size=2)


def test_large_array_epoch_fetches_whole_batches_never_single_images(monkeypatch):
    # the work, not the seconds: one get_batch call a batch, and no per-image Python loop behind it
    images = numpy.zeros((60000, 1, 28, 28), numpy.uint8)
    dataset = ArrayDataset(images, numpy.zeros(60000, numpy.int64))
    batch_sizes = []
    get_batch = ArrayDataset.get_batch

    def counted(self, indices):
        batch_sizes.append(len(indices))
        return get_batch(self, indices)

    def single_image(self, index):
        raise AssertionError(f"the loader fetched image {index} on its own")

    monkeypatch.setattr(ArrayDataset, "get_batch", counted)
    monkeypatch.setattr(ArrayDataset, "__getitem__", single_image)
    loader = DataLoader(dataset, batch_size=256, shuffle=True, seed=0)
    count = sum(len(labels.data) for _, labels in loader)
    assert count == 60000
    assert batch_sizes == [256] * 234 + [96]


def test_array_dataset_accepts_uint8_wide_ints_and_floats():
    wide = ArrayDataset(numpy.full((2, 3, 3), 255, numpy.int64), [0, 1])
    assert wide.images.dtype == numpy.uint8 and wide[0][0].max() == 1.0 and wide.classes == ["0", "1"]
    floats = ArrayDataset(numpy.full((2, 3, 3, 3), 0.5), [0, 0], ["only"])
    assert floats.images.dtype == numpy.float32 and floats.get_batch([1])[0].shape == (1, 3, 3, 3)
    with pytest.raises(DatasetError, match="0..255"):
        ArrayDataset(numpy.full((1, 2, 2), 300), [0])
    with pytest.raises(DatasetError, match="one name per label"):
        ArrayDataset(numpy.zeros((2, 2, 2), numpy.uint8), [0, 2], ["a", "b"])
    with pytest.raises(DatasetError, match="one per image"):
        ArrayDataset(numpy.zeros((2, 2, 2), numpy.uint8), [0])


def test_cuda_batches_cross_once_through_pinned_buffers(standin):
    loader = DataLoader(make_dataset(10), batch_size=2, shuffle=True, seed=0, device="cuda")
    on_cpu = [(x.numpy(), y.numpy()) for x, y in DataLoader(make_dataset(10), batch_size=2, shuffle=True, seed=0)]
    standin.COUNTS.reset()
    batches = list(loader)
    assert standin.COUNTS.host_to_device == 2 * len(batches) == 10  # images once, labels once per batch
    assert standin.COUNTS.device_to_host == 0
    assert standin.COUNTS.event_waits == 2 * len(batches) - 2  # two buffers in flight: only older ones are waited for
    for (x, y), (host_x, host_y) in zip(batches, on_cpu):
        assert x.device == y.device == "cuda" and x.dtype == numpy.float32 and y.dtype == numpy.int64
        numpy.testing.assert_array_equal(x.numpy(), host_x)
        numpy.testing.assert_array_equal(y.numpy(), host_y)
