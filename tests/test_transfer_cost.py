"""count_flops checked by hand for SmallCNN (the arithmetic is written out), backward from what ran,
memory split, and measure_step leaving the model untouched."""
import numpy

import minitl
from html_tables import assert_same_cells
from minitl import transfer
from minitl.models import SmallCNN
from minitl.optim import SGD

N = 2  # batch
# Forward MACs per layer, for a (2, 1, 28, 28) input; FLOPs = 2 x MACs for conv / linear / BN.
CONV1 = N * 32 * 28 * 28 * (1 * 3 * 3)      # = 451,584   out 2x32x28x28, each output: 1 channel x 3x3
BN1 = N * 32 * 28 * 28                       # = 50,176    one MAC per element
RELU1 = N * 32 * 28 * 28                     # FLOPs only: one comparison per element
POOL1 = N * 32 * 14 * 14 * (2 * 2 - 1)       # = 37,632    3 comparisons per 2x2 window
CONV2 = N * 64 * 14 * 14 * (32 * 3 * 3)      # = 7,225,344
BN2 = RELU2 = N * 64 * 14 * 14               # = 25,088
POOL2 = N * 64 * 7 * 7 * 3                   # = 18,816
CONV3 = N * 128 * 7 * 7 * (64 * 3 * 3)       # = 7,225,344
BN3 = RELU3 = N * 128 * 7 * 7                # = 12,544
GAP = N * 128 * 7 * 7                        # = 12,544    one add per input element
HEAD = N * 5 * 128                           # = 1,280

# 451,584 + 50,176 + 7,225,344 + 25,088 + 7,225,344 + 12,544 + 1,280
MACS = CONV1 + BN1 + CONV2 + BN2 + CONV3 + BN3 + HEAD
FLOPS = 2 * MACS + RELU1 + POOL1 + RELU2 + POOL2 + RELU3 + GAP


def test_smallcnn_forward_counts_by_hand():
    assert CONV1 == 451_584 and CONV2 == 7_225_344 and MACS == 14_991_360
    table = transfer.count_flops(SmallCNN(num_classes=5), (N, 1, 28, 28))
    assert table.forward_macs == MACS
    assert table.forward_flops == FLOPS
    rows = {r["name"]: r for r in table.rows}
    assert rows["backbone.block1.0"]["forward_macs"] == CONV1
    assert rows["backbone.block1.0"]["forward_flops"] == 2 * CONV1
    assert rows["backbone.block2.3"]["forward_flops"] == POOL2
    assert rows["backbone.block3.3"]["forward_flops"] == GAP
    assert rows["head"]["forward_macs"] == HEAD
    assert "MACs" in str(table) and "FLOPs = 2 x MACs" in str(table)
    assert_same_cells(str(table), table._repr_html_())  # a notebook shows the same counts
    assert f"{CONV1:,}" in table._repr_html_()


def test_backward_counts_follow_what_ran():
    model = SmallCNN(num_classes=5)
    full = transfer.count_flops(model, (N, 1, 28, 28))
    rows = {r["name"]: r for r in full.rows}
    # the first conv: its input is data (no grad), so only the weight gradient: ~1x its forward
    assert rows["backbone.block1.0"]["backward_flops"] == 2 * CONV1
    # a middle conv: input gradient + weight gradient: 2x its forward
    assert rows["backbone.block2.0"]["backward_flops"] == 2 * (2 * CONV2)
    assert rows["backbone.block2.2"]["backward_flops"] == RELU2  # an activation: input gradient only
    assert full.ran_backward == [r["name"] for r in full.rows]

    transfer.get_strategy("fe").apply(model)
    frozen = transfer.count_flops(model, (N, 1, 28, 28))
    assert frozen.forward_flops == FLOPS                     # the forward is the same
    assert frozen.backward_flops == 2 * HEAD                 # only the head's weight gradient
    assert frozen.ran_backward == ["head"]                   # read from the graph: no node below the head
    assert frozen.trainable_parameters == 128 * 5 + 5

    transfer.get_strategy("surgical", block=2).apply(model)  # block3 + head train
    surgical = transfer.count_flops(model, (N, 1, 28, 28))
    rows = {r["name"]: r for r in surgical.rows}
    assert rows["backbone.block3.0"]["backward_flops"] == 2 * CONV3  # first trainable: weight grad only
    assert rows["head"]["backward_flops"] == 2 * (2 * HEAD)
    assert rows["backbone.block2.0"]["backward_flops"] == 0


def test_memory_split():
    model = SmallCNN(num_classes=5)
    params = sum(p.data.nbytes for p in model.parameters())
    transfer.get_strategy("fe").apply(model)
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    table = transfer.count_flops(model, (N, 1, 28, 28), optimizer)
    memory = table.memory
    assert memory["parameters"] == params == 93_765 * 4
    assert memory["gradients"] == (128 * 5 + 5) * 4
    assert memory["optimizer_state"] == (128 * 5 + 5) * 4 and memory["optimizer_state_estimated"]
    assert memory["activations"] == N * 128 * 4  # the head saves only its input (2 x 128 floats)
    full = transfer.count_flops(transfer.get_strategy("scratch").apply(model), (N, 1, 28, 28))
    assert full.memory["activations"] > 100 * memory["activations"]


def test_count_flops_leaves_the_model_as_it_was():
    model = SmallCNN(num_classes=5)
    model.eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    transfer.count_flops(model, (N, 1, 28, 28))
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key])
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_measure_step_and_comparison():
    images = minitl.tensor(numpy.random.default_rng(0).random((4, 1, 28, 28)).astype(numpy.float32))
    labels = minitl.tensor(numpy.arange(4) % 5)
    fe = transfer.get_strategy("fe").apply(SmallCNN(num_classes=5))
    ft = transfer.get_strategy("ft", backbone_lr_scale=1.0).apply(SmallCNN(num_classes=5))
    before = {k: v.copy() for k, v in ft.state_dict().items()}
    comparison = transfer.cost_comparison({"frozen backbone": (fe, SGD(fe, lr=0.1, momentum=0.9)),
                                           "full fine-tune": (ft, SGD(ft, lr=0.1, momentum=0.9))},
                                          images, labels, repeats=1)
    for key, value in ft.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key])
    rows = comparison.rows
    assert rows[0]["flops"].step_flops < rows[1]["flops"].step_flops
    assert all(r["times"]["total"] > 0 for r in rows)
    text = str(comparison)
    assert "FLOP ratio" in text and "time ratio" in text and "frozen backbone" in text
    assert_same_cells(text, comparison._repr_html_())
    ratio = rows[0]["flops"].step_flops / rows[1]["flops"].step_flops
    assert 0.3 < ratio < 0.4  # frozen backbone: ~ one forward; full fine-tune: ~ three (minus the first layer)
