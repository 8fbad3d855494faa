"""Module tree: registration, names, modes, devices, state_dict, hooks, and the effects of ``frozen``."""
import gc
import weakref

import numpy
import pytest

import minitl
from minitl import nn
from minitl.models import SmallCNN
from minitl.nn import functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.norm(self.features(x)))


def _graph_nodes(output):
    """Every Function recorded behind ``output`` (walked without recursion)."""
    nodes, stack, seen = [], [output], set()
    while stack:
        t = stack.pop()
        fn = t.grad_fn
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(fn)
        stack.extend(fn.inputs)
    return nodes


def test_names_follow_definition_order_pytorch_style():
    names = [n for n, _ in Net().named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
                     "norm.weight", "norm.bias", "head.weight", "head.bias"]
    assert [n for n, _ in Net().named_buffers()] == ["norm.running_mean", "norm.running_var",
                                                      "norm.num_batches_tracked"]
    assert [n for n, _ in Net().named_children()] == ["features", "norm", "head"]
    assert [n for n, _ in Net().named_modules()][:4] == ["", "features", "features.0", "features.1"]


def test_state_dict_order_matches_pytorch_per_module_params_then_buffers():
    keys = list(Net().state_dict())
    assert keys[4:9] == ["norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
                         "norm.num_batches_tracked"]


def test_shared_parameter_is_listed_once():
    net = Net()
    net.extra = net.head  # the same layer under two names
    assert len(list(net.parameters())) == 8


def test_reassigning_an_attribute_replaces_the_registration():
    net = Net()
    net.head = nn.Identity()
    assert "head.weight" not in dict(net.named_parameters())
    net.norm.running_mean = minitl.tensor(numpy.ones(8))  # updating a buffer keeps it a buffer
    assert numpy.all(net.state_dict()["norm.running_mean"] == 1)


def test_train_eval_propagate_and_zero_grad():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    F.cross_entropy(net(minitl.tensor(numpy.ones((2, 4)))), minitl.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_moves_parameters_and_buffers(device):
    net = Net().to(device)
    assert {p.device for p in net.parameters()} == {device}
    assert {b.device for b in net.buffers()} == {device}
    out = net(minitl.tensor(numpy.ones((2, 4)), device=device))
    assert out.device == device


# ---------------- frozen: the five effects ----------------

def test_effect1_frozen_parameters_get_no_gradient():
    net = Net()
    net.features.frozen = True
    assert all(not p.requires_grad for p in net.features.parameters())
    assert net.features.frozen and not net.frozen
    F.cross_entropy(net(minitl.tensor(numpy.ones((3, 4)))), minitl.tensor([0, 1, 2])).backward()
    assert all(p.grad is None for p in net.features.parameters())
    assert all(p.grad is not None for p in net.head.parameters())
    net.unfreeze()
    assert not net.frozen and all(p.requires_grad for p in net.parameters())


def test_effect2_backward_does_not_enter_a_frozen_prefix():
    model = SmallCNN(5)
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal((2, 1, 12, 12)))
    outputs = {}
    for name in ("block1", "block2", "block3"):
        getattr(model.backbone, name).register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o))

    full = len(_graph_nodes(model(x)))
    model.freeze_to(2)
    out = model(x)
    assert outputs["block1"].grad_fn is None and outputs["block2"].grad_fn is None
    assert outputs["block3"].grad_fn is not None
    frozen_nodes = _graph_nodes(out)
    # 2 blocks x (conv, bn, relu, pool) = 8 nodes are not recorded at all
    assert len(frozen_nodes) == full - 8
    assert all(id(t) != id(x) for fn in frozen_nodes for t in fn.inputs)  # the input is never reached


def test_effect2_no_activation_of_a_frozen_prefix_is_kept_alive():
    model = SmallCNN(3).freeze_to(2)
    captured = []
    model.backbone.block1.register_forward_hook(lambda m, i, o: captured.append(weakref.ref(o)))
    out = model(minitl.tensor(numpy.ones((1, 1, 8, 8))))
    gc.collect()
    assert captured[0]() is None  # nothing in the graph of ``out`` references block1's output
    assert out.grad_fn is not None


def test_effect4_frozen_batchnorm_uses_and_keeps_running_stats_in_train_mode():
    bn = nn.BatchNorm2d(3)
    bn.running_mean.data[...] = numpy.array([0.5, -1.0, 2.0], dtype=numpy.float32)
    bn.running_var.data[...] = numpy.array([2.0, 0.5, 1.5], dtype=numpy.float32)
    x = minitl.tensor(numpy.random.default_rng(1).standard_normal((4, 3, 5, 5)) * 3 + 1)
    bn.eval()
    expected = bn(x).numpy()
    before = {k: v.copy() for k, v in bn.state_dict().items()}

    bn.freeze()
    bn.train()  # train() must not undo frozen
    assert bn.frozen and bn.training
    numpy.testing.assert_allclose(bn(x).numpy(), expected, rtol=1e-6)
    for k, v in bn.state_dict().items():
        numpy.testing.assert_array_equal(v, before[k])

    bn.unfreeze()
    bn(x)  # trainable again: batch statistics, running stats move
    assert not numpy.allclose(bn.state_dict()["running_mean"], before["running_mean"])


def test_effect4_model_train_keeps_frozen_backbone_batchnorm_fixed():
    model = SmallCNN(4)
    model.backbone.freeze()
    model.train()
    before = {k: v.copy() for k, v in model.state_dict().items() if "running" in k}
    model(minitl.tensor(numpy.random.default_rng(2).standard_normal((3, 1, 8, 8))))
    for k, v in before.items():
        numpy.testing.assert_array_equal(model.state_dict()[k], v)


def test_effect5_summary_counts_frozen_parameters_as_non_trainable():
    model = SmallCNN(10).freeze_to(2)
    report = model.summary((2, 1, 28, 28), print_table=False)
    # hand count: conv 1*32*9+32, bn 2*32, conv 32*64*9+64, bn 2*64, conv 64*128*9+128, bn 2*128, fc 128*10+10
    block1 = 1 * 32 * 9 + 32 + 2 * 32
    block2 = 32 * 64 * 9 + 64 + 2 * 64
    block3 = 64 * 128 * 9 + 128 + 2 * 128
    head = 128 * 10 + 10
    assert report.total_params == block1 + block2 + block3 + head == 94410
    assert report.non_trainable_params == block1 + block2
    assert report.trainable_params == block3 + head
    rows = {r["name"]: r for r in report.rows}
    assert rows["backbone.block1.0"]["frozen"] and rows["backbone.block1.0"]["trainable"] == 0
    assert not rows["backbone.block3.0"]["frozen"]
    assert rows["backbone.block2.3"]["output_shape"] == (2, 64, 7, 7)
    assert rows["head"]["output_shape"] == (2, 10)
    text = str(report)
    assert "Trainable params: 75,402" in text and "Non-trainable params: 19,008" in text


def test_frozen_reads_true_on_a_container_only_when_all_parameters_are_frozen():
    net = Net()
    net.features[0].freeze()
    assert net.features[0].frozen and not net.features.frozen
    net.features[2].freeze()
    assert net.features.frozen
    relu = nn.ReLU()
    assert not relu.frozen
    relu.freeze()
    assert relu.frozen


def test_frozen_is_stored_not_read_from_requires_grad():
    net = Net()
    net.requires_grad_(False)  # PyTorch's meaning: no gradient for any parameter; nothing is frozen
    assert not any(p.requires_grad for p in net.parameters())
    assert not net.frozen and not net.norm.frozen and not any(p.frozen for p in net.parameters())
    net.requires_grad_(True)
    for p in net.head.parameters():
        p.requires_grad = False
    assert not net.head.frozen

    net.features.frozen = True
    assert net.features.frozen and all(p.frozen for p in net.features.parameters())
    assert net.features[1].frozen  # a ReLU inside reads the flag stored on it
    net.features[0].unfreeze()
    assert not net.features.frozen and net.features[1].frozen and net.features[2].frozen  # partly frozen: False


def test_turning_requires_grad_on_unfreezes_a_frozen_parameter():
    layer = nn.Linear(3, 2).freeze()
    layer.bias.requires_grad = True  # the PyTorch way to unfreeze: a frozen parameter never requires grad
    assert not layer.bias.frozen and layer.weight.frozen and not layer.frozen
    layer.bias.requires_grad = False
    assert not layer.bias.frozen  # turning it off again is PyTorch's no-grad, not freezing
    layer.requires_grad_(True)
    assert not layer.weight.frozen and not layer.frozen


def test_summary_tells_frozen_from_no_grad():
    model = SmallCNN(10)
    model.backbone.block1.freeze()
    for p in model.backbone.block2.parameters():
        p.requires_grad = False
    report = model.summary((1, 28, 28), print_table=False)
    rows = {r["name"]: r for r in report.rows}
    assert rows["backbone.block1.1"]["state"] == "yes" and rows["backbone.block1.1"]["frozen"]
    assert rows["backbone.block2.1"]["state"] == "no grad" and not rows["backbone.block2.1"]["frozen"]
    assert rows["head"]["state"] == "no" and rows["head"]["trainable"] == 128 * 10 + 10
    assert rows["backbone.block2.1"]["trainable"] == 0  # neither kind is trained
    line = {text.split()[0]: text for text in str(report).splitlines() if text.startswith("backbone.block")}
    assert "no grad" in line["backbone.block2.1"] and "yes" in line["backbone.block1.1"]
    assert "no grad" not in line["backbone.block1.1"]


def test_mode_switches_inside_the_block_and_gives_each_module_its_own_mode_back():
    net = Net()
    net.norm.eval()  # a model half in eval mode
    with net.mode(training=False) as inside:
        assert inside is net and not any(m.training for m in net.modules())
    assert net.training and net.features.training and not net.norm.training
    with pytest.raises(RuntimeError), net.mode(training=True):
        assert all(m.training for m in net.modules())
        raise RuntimeError("an error inside the block")
    assert net.training and not net.norm.training  # given back on the way out of an error too


def test_freezing_drops_stale_gradients():
    net = Net()
    F.cross_entropy(net(minitl.tensor(numpy.ones((2, 4)))), minitl.tensor([0, 1])).backward()
    net.features.freeze()
    assert all(p.grad is None for p in net.features.parameters())


def test_sequential_freeze_to_uses_children():
    seq = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2))
    seq.freeze_to(2)
    assert [m.frozen for m in seq] == [True, True, False]


# ---------------- lr_scale ----------------

def test_effective_lr_scale_is_the_product_up_a_three_level_tree():
    net = Net()
    assert nn.effective_lr_scale(net.features[0].weight) == 1.0
    net.lr_scale = 0.5
    net.features.lr_scale = 0.2
    net.features[2].lr_scale = 3.0
    assert nn.effective_lr_scale(net.features[2].weight) == pytest.approx(0.5 * 0.2 * 3.0)
    assert nn.effective_lr_scale(net.features[0].weight) == pytest.approx(0.5 * 0.2)
    assert nn.effective_lr_scale(net.head.bias) == pytest.approx(0.5)
    net.features.lr_scale = None  # None means 1.0
    assert nn.effective_lr_scale(net.features[2].weight) == pytest.approx(1.5)


def test_a_slice_view_does_not_change_ownership():
    net = Net()
    net.lr_scale = 0.1
    view = net.features[:2]
    assert isinstance(view, nn.Sequential) and len(view) == 2
    assert nn.effective_lr_scale(net.features[0].weight) == pytest.approx(0.1)


# ---------------- state_dict and loading ----------------

def test_state_dict_round_trip_gives_identical_outputs():
    a, b = SmallCNN(3), SmallCNN(3)
    x = minitl.tensor(numpy.random.default_rng(3).standard_normal((2, 1, 8, 8)))
    a.eval(), b.eval()
    assert not numpy.allclose(a(x).numpy(), b(x).numpy())
    report = b.load_state_dict(a.state_dict())
    assert len(report.loaded) == len(a.state_dict())
    numpy.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_strict_load_lists_every_problem_and_changes_nothing():
    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    bad = {k: numpy.zeros_like(v) for k, v in before.items()}
    del bad["head.bias"]
    bad["head.weight"] = numpy.zeros((5, 8), dtype=numpy.float32)
    bad["extra.weight"] = numpy.zeros(3, dtype=numpy.float32)
    with pytest.raises(Exception) as error:
        net.load_state_dict(bad, strict=True)
    message = str(error.value)
    assert "head.bias" in message and "extra.weight" in message and "head.weight" in message
    for k, v in net.state_dict().items():
        numpy.testing.assert_array_equal(v, before[k])


def test_non_strict_load_loads_what_fits_and_reports_the_rest():
    net = Net()
    source = {k: numpy.full_like(v, 0.25) for k, v in net.state_dict().items() if k.startswith("features")}
    source["head.weight"] = numpy.zeros((5, 8), dtype=numpy.float32)
    report = net.load_state_dict(source, strict=False, skip_mismatch=True)
    assert set(report.loaded) == {k for k in source if k.startswith("features")}
    assert "head.bias" in report.missing
    assert [m[0] for m in report.mismatched] == ["head.weight"]
    assert numpy.all(net.features[0].weight.numpy() == 0.25)


def test_load_keeps_dtype_and_device():
    net = Net()
    source = {k: v.astype(numpy.float64) for k, v in net.state_dict().items()}
    net.load_state_dict(source)
    assert all(p.dtype == numpy.float32 for p in net.parameters())


# ---------------- hooks ----------------

def test_forward_hook_captures_and_can_be_removed():
    net = Net()
    seen = []
    handle = net.features.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    net(minitl.tensor(numpy.ones((2, 4))))
    assert seen == [(2, 8)]
    handle.remove()
    net(minitl.tensor(numpy.ones((2, 4))))
    assert seen == [(2, 8)]


def test_forward_hook_may_replace_the_output():
    layer = nn.Linear(2, 2)
    layer.register_forward_hook(lambda m, i, out: out * 0)
    assert numpy.all(layer(minitl.tensor(numpy.ones((1, 2)))).numpy() == 0)


def test_forgotten_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super"):
        Broken()


# ---------------- replacing things keeps the model whole ----------------

def test_replacing_a_child_keeps_its_place_in_the_forward_order():
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    seq[0] = nn.Linear(4, 3)
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    assert seq(minitl.tensor(numpy.ones((1, 4)))).shape == (1, 2)
    model = SmallCNN(3)
    model.backbone.block1 = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    assert [n for n, _ in model.backbone.named_children()] == ["block1", "block2", "block3"]
    assert model(minitl.tensor(numpy.ones((1, 1, 8, 8)))).shape == (1, 3)
    assert list(model.state_dict())[0] == "backbone.block1.0.weight"


def test_assigning_a_plain_tensor_to_a_parameter_is_an_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Linear.weight is a parameter"):
        layer.weight = minitl.tensor(numpy.ones((2, 2)), requires_grad=True)
    assert "weight" in dict(layer.named_parameters())
    layer.weight = nn.Parameter(numpy.zeros((2, 2)))
    assert numpy.all(layer.state_dict()["weight"] == 0)
    bn = nn.BatchNorm1d(3)
    bn.running_mean = numpy.ones(3, dtype=numpy.float32)  # an array becomes the buffer's Tensor
    assert "running_mean" in dict(bn.named_buffers()) and numpy.all(bn.state_dict()["running_mean"] == 1)


def test_assigning_a_models_head_installs_it_where_the_head_lives():
    from minitl.models import LeNet5, resnet8

    lenet = LeNet5(10)
    lenet.head = nn.Linear(84, 5)
    assert lenet.classifier[5] is lenet.head and "head" not in dict(lenet.named_children())
    assert lenet(minitl.tensor(numpy.zeros((2, 1, 28, 28)))).shape == (2, 5)
    net = resnet8(10)
    net.head = nn.Linear(64, 4)
    assert net.fc is net.head and net(minitl.tensor(numpy.zeros((1, 3, 8, 8)))).shape == (1, 4)


def test_summary_gives_each_module_its_own_mode_back():
    model = SmallCNN(5).train()
    model.backbone.eval()  # a common fine-tuning recipe: backbone BatchNorm in inference mode
    model.summary((1, 1, 28, 28), print_table=False)
    assert model.training and model.head.training
    assert not model.backbone.training and not model.backbone.block1[1].training


def test_pytorch_module_conveniences():
    model = SmallCNN(3)
    assert model.get_submodule("backbone.block2.0") is model.backbone.block2[0]
    with pytest.raises(AttributeError, match="block9"):
        model.get_submodule("backbone.block9")
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "SmallCNN" and seen.count("Conv2d") == 3
    model.double()
    assert {p.dtype for p in model.parameters()} == {numpy.dtype("float64")}
    assert model.backbone.block1[1].num_batches_tracked.dtype == numpy.int64
    model.float().requires_grad_(False)  # PyTorch's meaning: no gradient, but not frozen (see core/module.py)
    assert not any(p.requires_grad for p in model.parameters()) and not model.frozen
    assert {p.dtype for p in model.parameters()} == {numpy.dtype("float32")}
    model.requires_grad_(True)
    F.cross_entropy(model(minitl.tensor(numpy.ones((2, 1, 8, 8)))), minitl.tensor([0, 1])).backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    assert model.cpu() is model


def test_root_module_walks_up_to_the_model():
    from minitl.core.module import root_module

    model = nn.Sequential(nn.Sequential(nn.Linear(2, 2)), nn.Linear(2, 1))
    assert root_module(model[0][0]) is model and root_module(model) is model


def test_freeze_to_past_the_last_block_is_an_error_naming_the_blocks():
    model = SmallCNN()
    with pytest.raises(ValueError, match=r"SmallCNN.freeze_to\(4\): the model has 4 blocks \(0: backbone.block1, "
                                         r"1: backbone.block2, 2: backbone.block3, 3: head\).*leave nothing to train.*"
                                         r"freeze_to\(3\)"):
        model.freeze_to(4)
    assert not model.head.frozen and not model.backbone.frozen  # nothing changed
    model.freeze_to(3)
    assert model.backbone.frozen and not model.head.frozen


def test_setting_requires_grad_on_a_module_warns_and_names_the_fix():
    model = SmallCNN(num_classes=5)
    with pytest.warns(UserWarning, match=r"Sequential.requires_grad = False .*no effect.*requires_grad_\(False\)"
                                         r".*freeze\(\)"):
        model.backbone.requires_grad = False
    assert all(p.requires_grad for p in model.parameters())  # indeed nothing changed
