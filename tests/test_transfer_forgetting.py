"""source_accuracy and nn.utils.recalibrate_bn, on a model whose source accuracy is known (1.0)."""
import numpy

import minitl
from minitl import transfer
from minitl.data import ArrayDataset, DataLoader
from minitl.models import SmallCNN
from minitl.nn.utils import recalibrate_bn
from minitl.train import evaluate


def source_loader(seed=0):
    rng = numpy.random.default_rng(seed)
    images = numpy.concatenate([rng.random((8, 1, 12, 12)) * 0.2, 0.8 + rng.random((8, 1, 12, 12)) * 0.2])
    return DataLoader(ArrayDataset(images.astype(numpy.float32), numpy.repeat([0, 1], 8), ["dark", "bright"]),
                      batch_size=8)


def source_trained_model():
    """BatchNorm statistics measured on the source images, head imprinted: source accuracy exactly 1.0."""
    model = SmallCNN(num_classes=2)
    recalibrate_bn(model, source_loader())
    strategy = transfer.get_strategy("imprint")
    strategy.apply(model)
    strategy.fit(model, source_loader())
    assert evaluate(model, source_loader())["accuracy"] == 1.0
    return model.unfreeze()


def test_recalibrate_bn_measures_plain_averages_and_keeps_flags():
    model = SmallCNN(num_classes=2)
    model.backbone.block1.freeze()
    model.eval()
    seen = recalibrate_bn(model, source_loader())
    assert seen == 16
    first_bn = model.backbone.block1[1]
    assert int(first_bn.num_batches_tracked.data) == 2
    assert model.backbone.block1.frozen and not model.head.frozen and not model.training
    # a plain average over the two batches of the batch means of conv1's output
    loader = source_loader()
    with minitl.no_grad():
        means = [model.backbone.block1[0](x).data.mean(axis=(0, 2, 3)) for x, _ in loader]
    numpy.testing.assert_allclose(first_bn.running_mean.data, numpy.mean(means, axis=0), rtol=1e-4, atol=1e-6)


def test_source_accuracy_separates_batchnorm_statistics_from_weights():
    model = source_trained_model()
    source_head = model.head
    model.replace_head(3)  # the target task's head
    # "fine-tuning" that changes no weight at all: only BatchNorm statistics follow the target images
    rng = numpy.random.default_rng(1)
    target = [minitl.tensor((3.0 + 2.0 * rng.random((8, 1, 12, 12))).astype(numpy.float32)) for _ in range(20)]
    weights_before = {n: p.data.copy() for n, p in model.named_parameters()}
    with minitl.no_grad():
        for x in target:
            model(x)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    scores = transfer.source_accuracy(model, source_head, source_loader())
    assert scores["recalibrated_accuracy"] == 1.0     # the weights remember everything
    assert scores["accuracy"] < 1.0                   # the statistics made it look forgotten
    assert scores["samples"] == 16
    # the model is exactly as it was: its own (target) head and its target statistics
    assert model.head.out_features == 3
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key])
    for name, value in weights_before.items():
        numpy.testing.assert_array_equal(dict(model.named_parameters())[name].data, value)
    plain_only = transfer.source_accuracy(model, source_head, source_loader(), recalibrate_bn=False)
    assert plain_only["recalibrated_accuracy"] is None and plain_only["accuracy"] == scores["accuracy"]
