"""Strategies: each one's frozen set, lr scales and trainable count on SmallCNN and resnet8, and the
optimizer it builds updates exactly what ``describe()`` says (read from ``last_step_report()``)."""
import numpy
import pytest

import minitl
from html_tables import assert_same_cells
from minitl import transfer
from minitl.core.ops.loss import cross_entropy
from minitl.data import ArrayDataset, DataLoader
from minitl.models import SmallCNN, resnet8
from minitl.transfer.strategies import FineTune, L2SPPenalty

SMALLCNN_BLOCKS = [384, 18_624, 74_112, 645]       # conv+BN parameters of block1..3, then head (128*5+5)
RESNET8_BLOCKS = [176, 4_672, 14_528, 57_728, 325]  # stem 16*1*3*3 conv + 2*16 BN = 176 ... fc 64*5+5


def smallcnn():
    return SmallCNN(num_classes=5)


def small_resnet():
    return resnet8(num_classes=5, in_channels=1)


def expected(name, blocks):
    """(trainable count per block, lr_scale per block) each strategy must produce, written out by hand."""
    n = len(blocks)
    head = [0] * (n - 1) + [blocks[-1]]
    return {
        "scratch": (blocks, [1.0] * n),
        "fe": (head, [None] * (n - 1) + [1.0]),
        "ft": (blocks, [0.1] * (n - 1) + [1.0]),
        "lp-ft": (head, [None] * (n - 1) + [1.0]),
        "gradual": (head, [None] * (n - 1) + [1.0]),
        "discriminative": (blocks, [2.6 ** -(n - 1 - i) for i in range(n)]),
        "l2sp": (blocks, [1.0] * n),
        "surgical": ([blocks[0]] + [0] * (n - 2) + [blocks[-1]], [1.0] + [None] * (n - 2) + [1.0]),
        "imprint": ([0] * n, [None] * n),
    }[name]


@pytest.mark.parametrize("build,blocks", [(smallcnn, SMALLCNN_BLOCKS), (small_resnet, RESNET8_BLOCKS)],
                         ids=["smallcnn", "resnet8"])
@pytest.mark.parametrize("name", ["scratch", "fe", "ft", "lp-ft", "gradual", "discriminative", "l2sp", "surgical",
                                  "imprint"])
def test_frozen_set_lr_scales_and_trainable_counts(name, build, blocks):
    model = build()
    if name == "surgical":
        strategy = transfer.get_strategy(name, block=0)
    else:
        strategy = transfer.get_strategy(name)
    model = strategy.apply(model)
    description = strategy.describe(model, lr=0.1)
    counts, scales = expected(name, blocks)
    assert [row["trainable"] for row in description.rows] == counts
    assert [row["total"] for row in description.rows] == blocks
    for row, scale in zip(description.rows, scales):
        assert (row["lr_scale"] is None) == (scale is None)
        if scale is not None:
            assert row["lr_scale"] == pytest.approx(scale)
            assert row["lr"] == pytest.approx(0.1 * scale)
    assert description.trainable == sum(counts)
    assert sum(int(p.data.size) for p in model.parameters() if p.requires_grad) == sum(counts)
    frozen_blocks = [block.frozen for block in model.blocks()]
    assert frozen_blocks == [c == 0 for c in counts]


@pytest.mark.parametrize("build", [smallcnn, small_resnet], ids=["smallcnn", "resnet8"])
def test_bn_only_and_bitfit_train_what_they_say(build):
    model = transfer.get_strategy("bn-only").apply(build())
    head = {f"{model.head_path}.weight", f"{model.head_path}.bias"}
    names = transfer.get_strategy("bn-only").describe(model).trainable_names
    bn = {n for n, p in model.named_parameters() if type(p.owner).__name__ == "BatchNorm2d"}
    assert set(names) == bn | head
    model = transfer.get_strategy("bitfit").apply(build())
    names = set(transfer.get_strategy("bitfit").describe(model).trainable_names)
    # SmallCNN's conv biases feed a BatchNorm (zero gradient): BitFit trains BN's shift instead.
    assert names == {n for n in bn if n.endswith(".bias")} | head
    assert not any(n.endswith(".0.bias") for n in names)


def one_batch(in_channels=1, n=8, classes=5, seed=0):
    rng = numpy.random.default_rng(seed)
    images = rng.random((n, in_channels, 12, 12)).astype(numpy.float32)
    return minitl.tensor(images), minitl.tensor(numpy.arange(n) % classes)


@pytest.mark.parametrize("build", [smallcnn, small_resnet], ids=["smallcnn", "resnet8"])
@pytest.mark.parametrize("name", ["scratch", "fe", "ft", "lp-ft", "gradual", "discriminative", "l2sp", "surgical",
                                  "bn-only", "bitfit", "probe"])
def test_optimizer_updates_exactly_what_describe_says(name, build):
    strategy = transfer.get_strategy(name)
    model = strategy.apply(build())
    description = strategy.describe(model, lr=0.1)
    optimizer = strategy.optimizer(model, lr=0.1, momentum=0.0)
    images, labels = one_batch()
    loss = cross_entropy(model(images), labels)
    regularizer = strategy.regularizer(model)
    if regularizer is not None:
        loss = loss + regularizer(model)
    loss.backward()
    optimizer.step()
    report = optimizer.last_step_report()
    for name_, plan in description.parameters.items():
        row = report[name_]
        if plan["trainable"]:
            assert row["status"] == "updated", name_
            assert row["lr"] == pytest.approx(0.1 * plan["lr_scale"]), name_
        else:
            assert row["status"] == "frozen" and row["update_norm"] == 0.0, name_
    updated = {r["name"] for r in report if r["status"] == "updated" and r["update_norm"] > 0}
    assert updated == set(description.trainable_names)


def test_bitfit_conv_bias_feeding_batchnorm_has_zero_gradient():
    """Why BitFit leaves SmallCNN's conv biases frozen: BN in training mode subtracts the batch mean."""
    model = transfer.get_strategy("bitfit").apply(smallcnn())
    conv_bias = model.backbone.block1[0].bias
    conv_bias.requires_grad = True  # make it trainable to look at its gradient
    images, labels = one_batch(n=16)
    cross_entropy(model(images), labels).backward()
    bn_shift = model.backbone.block1[1].bias.grad.data
    assert numpy.abs(bn_shift).max() > 1e-4                      # the shift right after it does learn
    assert numpy.abs(conv_bias.grad.data).max() < 1e-6 * max(1.0, numpy.abs(bn_shift).max())
    assert transfer.strategies.bias_feeds_batchnorm(model) == [
        "backbone.block1.0.bias", "backbone.block2.0.bias", "backbone.block3.0.bias"]


def test_l2sp_penalty_gradient_by_gradcheck():
    model = SmallCNN(num_classes=3).double()
    strategy = transfer.get_strategy("l2sp", alpha=0.3, beta=0.2)
    strategy.apply(model)
    rng = numpy.random.default_rng(0)
    for p in model.parameters():
        p.data += 0.05 * rng.standard_normal(p.data.shape)  # move away from w0, so the gradient is not 0
    penalty = strategy.regularizer(model)
    conv, bn, head = model.backbone.block1[0].weight, model.backbone.block2[1].bias, model.head.weight
    # gradcheck nudges the parameters in place and re-evaluates the penalty of the whole model
    assert minitl.gradcheck(lambda *params: penalty(model), [conv, bn, head])
    # and by hand: d/dw = alpha (w - w0) on the backbone, beta w on the head
    model.zero_grad()
    penalty(model).backward()
    numpy.testing.assert_allclose(conv.grad.data, 0.3 * (conv.data - penalty.reference["backbone.block1.0.weight"]),
                                  rtol=1e-10)
    numpy.testing.assert_allclose(head.grad.data, 0.2 * head.data, rtol=1e-10)


def test_l2sp_is_added_by_fit_hook():
    model = smallcnn()
    strategy = transfer.get_strategy("l2sp", alpha=1.0, beta=0.0)
    strategy.apply(model)
    images, labels = one_batch(n=10)
    loader = DataLoader(ArrayDataset(images.data, labels.data, [str(i) for i in range(5)]), batch_size=5)
    history = strategy.fit(model, loader, epochs=1, lr=0.05)
    assert all("penalty" in step for step in history.steps)
    assert history.steps[0]["penalty"] == 0.0 and history.steps[1]["penalty"] > 0.0


def test_lpft_two_phases_with_fresh_optimizer():
    model = smallcnn()
    strategy = transfer.get_strategy("lp-ft", probe_fraction=0.5)
    strategy.apply(model)
    images, labels = one_batch(n=10)
    loader = DataLoader(ArrayDataset(images.data, labels.data, [str(i) for i in range(5)]), batch_size=5)
    history = strategy.fit(model, loader, epochs=4, lr=0.05)
    assert [e["phase"] for e in history.epochs] == ["probe", "probe", "fine-tune", "fine-tune"]
    assert [e["trainable_blocks"] for e in history.epochs] == [[3], [3], [0, 1, 2, 3], [0, 1, 2, 3]]
    assert [s["step"] for s in history.steps] == list(range(1, 9))
    # the fine-tune's schedule starts again at the full lr
    assert history.steps[4]["lr"] == pytest.approx(0.05)


def test_imprint_takes_zero_steps_and_predicts_class_means():
    rng = numpy.random.default_rng(0)
    images = numpy.concatenate([rng.random((6, 1, 12, 12)) * 0.1, 0.9 + rng.random((6, 1, 12, 12)) * 0.1])
    labels = numpy.repeat([0, 1], 6)
    loader = DataLoader(ArrayDataset(images.astype(numpy.float32), labels, ["dark", "bright"]), batch_size=4)
    model = SmallCNN(num_classes=2)
    strategy = transfer.get_strategy("imprint")
    strategy.apply(model)
    before = {n: a.copy() for n, a in model.state_dict().items() if not n.startswith("head")}
    history = strategy.fit(model, loader)
    assert history.total_steps == 0 and history.epochs[0]["imprinted_class_counts"] == [6, 6]
    numpy.testing.assert_allclose(numpy.linalg.norm(model.head.weight.data, axis=1), 1.0, rtol=1e-5)
    assert minitl.train.evaluate(model, loader)["accuracy"] == 1.0
    for n, a in model.state_dict().items():
        if n in before:
            numpy.testing.assert_array_equal(a, before[n])


def test_linear_probe_on_an_earlier_block():
    model = smallcnn()
    probe = transfer.get_strategy("probe", block=1).apply(model)
    images, _ = one_batch()
    assert probe(images).shape == (8, 5)
    assert probe.head.in_features == 64  # block2's channels, pooled
    assert [n for n, p in probe.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]


def test_registry_names_options_and_user_strategies():
    assert transfer.strategy_names()[:12] == ["scratch", "fe", "ft", "lp-ft", "gradual", "discriminative", "l2sp",
                                              "surgical", "bn-only", "bitfit", "imprint", "probe"]
    assert transfer.get_strategy("ft").backbone_lr_scale == 0.1
    assert transfer.get_strategy("ft", backbone_lr_scale=1.0).backbone_lr_scale == 1.0
    with pytest.raises(KeyError, match="no strategy named 'nope'.*register_strategy"):
        transfer.get_strategy("nope")

    @transfer.register_strategy("head-fast")
    class HeadFast(FineTune):
        def apply(self, model):
            super().apply(model)
            model.head.lr_scale = 10.0
            return model

    try:
        model = transfer.get_strategy("head-fast").apply(smallcnn())
        assert model.head.lr_scale == 10.0
    finally:
        transfer.STRATEGIES.pop("head-fast")
    with pytest.raises(TypeError, match="not a Strategy subclass"):
        transfer.register_strategy("bad", object)


def test_apply_starts_from_a_clean_slate():
    model = transfer.get_strategy("discriminative").apply(smallcnn())
    transfer.get_strategy("fe").apply(model)
    assert [b.lr_scale for b in model.blocks()] == [None] * 4
    assert isinstance(L2SPPenalty, type)


def test_describe_tells_frozen_from_no_grad():
    model = transfer.get_strategy("ft").apply(smallcnn())
    model.backbone.block1.freeze()
    for p in model.backbone.block2.parameters():  # PyTorch's idiom: no gradient, but not frozen
        p.requires_grad = False
    model.backbone.block3[0].bias.frozen = True
    rows = {r["block"]: r for r in transfer.get_strategy("ft").describe(model).rows}
    assert rows["backbone.block1"]["frozen"] == "yes"
    assert rows["backbone.block1"]["batchnorm"] == "running stats (frozen)"
    assert rows["backbone.block2"]["frozen"] == "no grad" and rows["backbone.block2"]["batchnorm"] == "batch stats"
    assert rows["backbone.block3"]["frozen"] == "partly" and rows["head"]["frozen"] == "no"
    assert rows["backbone.block2"]["trainable"] == 0
    assert rows["backbone.block3"]["trainable"] == SMALLCNN_BLOCKS[2] - 128
    text = str(transfer.get_strategy("ft").describe(model))
    assert "no grad" in next(line for line in text.splitlines() if line.startswith("backbone.block2"))


def test_describe_shows_itself_as_an_html_table_with_the_printed_numbers():
    strategy = transfer.get_strategy("ft")
    description = strategy.describe(strategy.apply(smallcnn()), lr=0.1)
    markup = description._repr_html_()
    assert_same_cells(str(description), markup)  # the title, each block's lr and counts, the notes
    assert f"trainable parameters: {description.trainable:,}" in markup
