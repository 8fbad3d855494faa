"""Fine-tuning helpers: discriminative learning rates and layer decay as lr_scale on blocks, and the
no-decay param groups for biases and normalisation parameters."""
import numpy
import pytest

from html_tables import assert_same_cells
from minitl import nn, optim
from minitl.core.tensor import Tensor
from minitl.models import SmallCNN


def test_discriminative_lr_divides_by_factor_per_block_back():
    model = SmallCNN(num_classes=3)
    table = optim.discriminative_lr(model, base_lr=0.01, factor=2.6)
    assert table.scales == pytest.approx([2.6 ** -3, 2.6 ** -2, 2.6 ** -1, 1.0])
    assert model.backbone.block1.lr_scale == pytest.approx(2.6 ** -3) and model.head.lr_scale == 1.0
    text = str(table)
    assert "backbone.block1" in text and "head" in text and "0.01" in text
    # the optimizer sees it: effective lr of a block1 weight is base_lr / 2.6^3
    opt = optim.SGD(model, lr=0.01)
    for p in model.parameters():
        p.grad = Tensor(numpy.ones(p.shape))
    opt.step()
    report = opt.last_step_report()
    assert report["backbone.block1.0.weight"]["lr"] == pytest.approx(0.01 / 2.6 ** 3)
    assert report["head.weight"]["lr"] == pytest.approx(0.01)
    # and summary() shows the scales
    summary = model.summary((1, 1, 8, 8), print_table=False)
    block1_conv = next(r for r in summary.rows if r["name"] == "backbone.block1.0")
    assert block1_conv["lr_scale"] == pytest.approx(2.6 ** -3)


def test_layer_decay_multiplies_per_block_back():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Linear(2, 2))
    table = optim.layer_decay(model, decay=0.5)
    assert table.scales == pytest.approx([0.125, 0.25, 0.5, 1.0])
    assert model[3].lr_scale == 1.0 and model[0].lr_scale == pytest.approx(0.125)
    with pytest.raises(ValueError, match="decay"):
        optim.layer_decay(model, decay=1.5)


def test_param_groups_exempt_biases_and_norm_parameters_from_weight_decay():
    model = SmallCNN(num_classes=3)
    groups = optim.param_groups(model, weight_decay=0.05, lr=0.01)
    assert [g["name"] for g in groups] == ["decay", "no_decay"]
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = [names[id(p)] for p in groups[0]["params"]]
    plain = [names[id(p)] for p in groups[1]["params"]]
    assert decayed == ["backbone.block1.0.weight", "backbone.block2.0.weight", "backbone.block3.0.weight",
                       "head.weight"]
    assert "backbone.block1.1.weight" in plain and "head.bias" in plain  # BatchNorm scale, a bias
    opt = optim.AdamW(groups)  # AdamW's default decay must not leak into the no_decay group
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    # a no-decay parameter with zero gradient does not move; a decayed one shrinks
    for p in model.parameters():
        p.grad = Tensor(numpy.zeros(p.shape))
    bn_before, head_before = model.backbone.block1[1].weight.numpy().copy(), model.head.weight.numpy().copy()
    opt.step()
    numpy.testing.assert_array_equal(model.backbone.block1[1].weight.numpy(), bn_before)
    numpy.testing.assert_allclose(model.head.weight.numpy(), head_before * (1 - 0.01 * 0.05), rtol=1e-6)


def test_param_groups_by_name_pattern():
    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2), nn.Linear(2, 2))
    groups = optim.param_groups(model, weight_decay=0.1, no_decay=("2.",))
    assert len(groups[1]["params"]) == 2 and len(groups[0]["params"]) == 4
    groups = optim.param_groups(model, weight_decay=0.1)
    assert len(groups[0]["params"]) == 2 and len(groups[1]["params"]) == 4  # 2 biases + LayerNorm's 2


def test_block_scales_show_themselves_as_an_html_table_with_the_printed_numbers():
    table = optim.discriminative_lr(SmallCNN(num_classes=3), base_lr=0.01, factor=2.6)
    assert_same_cells(str(table), table._repr_html_())
    assert f"{2.6 ** -3:.4g}" in table._repr_html_()
