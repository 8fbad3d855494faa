"""Reference models: names match PyTorch twins, outputs and gradients match after loading weights."""
import numpy
import pytest

import minitl
from minitl.models import MLP, LeNet5, SmallCNN, resnet8, resnet18
from minitl.models.base import TransferModel
from minitl.nn import Linear
from minitl.nn import functional as F


def _parity(minitl_model, torch_model, input_shape, train, rtol=1e-4, atol=1e-5):
    """Load torch's weights into minitl; compare outputs, parameter gradients and running stats."""
    torch = pytest.importorskip("torch")
    from torch_twins import state_dict_numpy

    report = minitl_model.load_state_dict(state_dict_numpy(torch_model))
    assert not report.missing and not report.unexpected and not report.mismatched
    minitl_model.train(train)
    torch_model.train(train)
    x = numpy.random.default_rng(0).standard_normal(input_shape).astype(numpy.float32)
    target = numpy.arange(input_shape[0]) % 3

    # Which ReLU inputs are positive, call by call, in each framework (see the check below).
    signs, t_signs = [], []
    for m in minitl_model.modules():
        if isinstance(m, minitl.nn.ReLU):
            m.register_forward_hook(lambda module, inputs, output: signs.append(output.numpy() > 0))
    for m in torch_model.modules():
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_hook(lambda module, inputs, output: t_signs.append(output.detach().numpy() > 0))
    out = minitl_model(minitl.tensor(x))
    loss = F.cross_entropy(out, minitl.tensor(target))
    loss.backward()
    t_out = torch_model(torch.tensor(x))
    t_loss = torch.nn.functional.cross_entropy(t_out, torch.tensor(target))
    t_loss.backward()

    # The two forwards round differently (sums in another order): ReLU inputs differ by up to ~1e-6.
    # A pre-activation closer to 0 than that can be positive in one framework and not in the other;
    # the ReLU then passes that gradient in one only, an O(1) difference no tolerance should absorb.
    # The seeded twin has none; this says so if a change of weights, input or op order brings one.
    assert len(signs) == len(t_signs)
    for call, (mine, theirs) in enumerate(zip(signs, t_signs)):
        assert numpy.array_equal(mine, theirs), (
            f"ReLU call {call}: {int((mine != theirs).sum())} input(s) on opposite sides of 0 in minitl and torch "
            "(within float32 rounding of the kink): gradients are not comparable there; change the seed")
    numpy.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    t_params = dict(torch_model.named_parameters())
    for name, p in minitl_model.named_parameters():
        numpy.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                      err_msg=f"gradient of {name}")
    t_state = torch_model.state_dict()
    for name, value in minitl_model.state_dict().items():  # running statistics after a train step
        numpy.testing.assert_allclose(value, t_state[name].numpy(), rtol=rtol, atol=atol, err_msg=name)


# (minitl model, torch twin's builder in torch_twins.py, num_classes, input shape, rtol, atol, train modes)
TWINS = [
    (SmallCNN, "torch_smallcnn", 5, (4, 1, 28, 28), 1e-4, 1e-5, (False, True)),
    (LeNet5, "torch_lenet5", 10, (3, 1, 28, 28), 1e-4, 1e-5, (False, True)),
    (resnet18, "torch_resnet18", 7, (2, 3, 64, 64), 2e-4, 5e-5, (False, True)),
    (resnet8, "torch_resnet8", 4, (2, 3, 16, 16), 1e-4, 1e-5, (True,)),
]


@pytest.mark.parametrize("make,twin_name,classes,shape,rtol,atol,train", [
    (*row[:6], train) for row in TWINS for train in row[6]], ids=lambda v: getattr(v, "__name__", None))
def test_model_matches_its_torch_twin(make, twin_name, classes, shape, rtol, atol, train):
    torch = pytest.importorskip("torch")
    import torch_twins

    # Seeded: the twin's convolution and linear weights come from torch's global generator. Unseeded,
    # one run in a few drew a network with a ReLU input within rounding of 0 (see _parity).
    torch.manual_seed(0)
    twin = torch_twins.randomize_batchnorm(getattr(torch_twins, twin_name)(num_classes=classes))
    model = make(num_classes=classes)
    assert list(model.state_dict()) == list(twin.state_dict())
    _parity(model, twin, shape, train, rtol=rtol, atol=atol)


def test_resnet18_has_torchvision_names_and_shapes():
    sd = resnet18().state_dict()
    assert len(sd) == 122  # torchvision's resnet18 state_dict: 62 parameters + 60 BatchNorm buffers
    assert sd["conv1.weight"].shape == (64, 3, 7, 7)
    assert sd["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert sd["layer4.1.bn2.running_var"].shape == (512,)
    assert sd["bn1.num_batches_tracked"].shape == () and sd["bn1.num_batches_tracked"].dtype == numpy.int64
    assert sd["fc.weight"].shape == (1000, 512)


def test_output_shapes():
    assert SmallCNN(5)(minitl.tensor(numpy.zeros((2, 1, 28, 28)))).shape == (2, 5)
    assert LeNet5(3)(minitl.tensor(numpy.zeros((2, 1, 28, 28)))).shape == (2, 3)
    assert MLP([12, 8, 4, 2])(minitl.tensor(numpy.zeros((5, 3, 4)))).shape == (5, 2)
    assert resnet8(6)(minitl.tensor(numpy.zeros((1, 3, 16, 16)))).shape == (1, 6)


def test_mlp_structure_and_validation():
    model = MLP([784, 256, 10], activation="tanh", dropout=0.2)
    assert [n for n, _ in model.named_parameters()] == ["hidden.0.0.weight", "hidden.0.0.bias",
                                                          "head.weight", "head.bias"]
    assert len(model.blocks()) == 2
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([4, 2], activation="swish")
    with pytest.raises(ValueError, match="at least"):
        MLP([4])


@pytest.mark.parametrize("make", [lambda: SmallCNN(10), lambda: LeNet5(10), lambda: resnet8(10),
                                  lambda: MLP([16, 8, 10])])
def test_replace_head_builds_a_fresh_trainable_head(make):
    model = make()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.freeze()
    new = model.replace_head(3)
    assert isinstance(new, Linear) and model.head is new
    assert new.weight.shape[0] == 3 and not new.frozen
    assert all(p.requires_grad for p in new.parameters())
    assert model.blocks()[-1] is new or new in list(model.blocks()[-1].modules())
    head_keys = set(model.head_keys())
    after = model.state_dict()
    assert set(after) == set(before)
    for k in before:
        if k not in head_keys:
            numpy.testing.assert_array_equal(after[k], before[k])
    assert {p for p in model.parameters() if p.requires_grad} == set(new.parameters())


def test_smallcnn_blocks_and_freeze_to():
    model = SmallCNN(10)
    blocks = model.blocks()
    assert blocks[:3] == list(model.backbone) and blocks[3] is model.head
    model.freeze_to(2)
    assert [b.frozen for b in blocks] == [True, True, False, False]
    model.freeze_to(-1)
    assert [b.frozen for b in blocks] == [True, True, True, False]
    model.freeze_to(0)
    assert not any(b.frozen for b in blocks)


def test_resnet_blocks_are_views_owned_by_the_model():
    model = resnet8(10)
    stem, *stages, fc = model.blocks()
    assert list(stem) == [model.conv1, model.bn1, model.relu, model.maxpool]
    assert fc is model.fc and stages == [model.layer1, model.layer2, model.layer3]
    model.lr_scale = 0.5
    # the view did not steal ownership: scales still multiply up to the model
    assert minitl.nn.effective_lr_scale(model.conv1.weight) == 0.5


def test_weights_argument_loads_a_file_and_keeps_a_new_head_fresh(tmp_path):
    source = SmallCNN(10)
    path = tmp_path / "smallcnn10.npz"
    minitl.save(source, path)
    same = SmallCNN(10, weights=path)
    assert same.load_report.ok
    for k, v in source.state_dict().items():
        numpy.testing.assert_array_equal(same.state_dict()[k], v)

    transfer = SmallCNN(5, weights=path)  # the 10-class head does not fit: reported, left fresh
    assert [m[0] for m in transfer.load_report.mismatched] == ["head.weight", "head.bias"]
    numpy.testing.assert_array_equal(transfer.state_dict()["backbone.block3.0.weight"],
                                     source.state_dict()["backbone.block3.0.weight"])
    with pytest.raises(minitl.io.WeightFormatError, match="smallcnn10.npz"):
        LeNet5(weights=path)


def test_a_mistyped_weights_name_lists_the_shipped_names_and_the_closest():
    """It used to say "unknown weight file extension", as if "fashion-pair" were a file."""
    with pytest.raises(ValueError, match=r"weights='fashion-pair': no shipped weights named 'fashion-pair'; known: "
                                         r".*fashion-paired.*; did you mean 'fashion-paired'\?"):
        SmallCNN(5, weights="fashion-pair")
    with pytest.raises(ValueError, match=r"known: [^;]*$"):  # nothing close: no guess
        SmallCNN(5, weights="imagenet")


def test_skip_head_leaves_the_old_head_out_of_the_load(tmp_path):
    source = resnet8(10)
    path = tmp_path / "r8.safetensors"
    minitl.io.save_safetensors(source, path)
    model = resnet8(10)
    model.replace_head(4)
    report = model.load_weights(path, skip_head=True)
    assert report.ok and set(report.ignored) >= {"fc.weight", "fc.bias"}
    assert "fc.weight" not in report.loaded


def test_saved_manifest_records_architecture_and_arguments(tmp_path):
    path = tmp_path / "m.npz"
    minitl.save(SmallCNN(7, in_channels=3), path)
    meta = minitl.load(path).meta
    assert meta["architecture"] == "SmallCNN"
    assert meta["arguments"] == {"num_classes": 7, "in_channels": 3}


@pytest.mark.parametrize("make,shape", [(lambda: SmallCNN(4), (2, 1, 8, 8)), (lambda: MLP([12, 8, 4]), (2, 3, 4)),
                                        (lambda: resnet8(4), (2, 3, 4, 4))])
def test_backbone_then_head_is_the_whole_model(make, shape):
    model = make().eval()
    x = minitl.tensor(numpy.random.default_rng(0).standard_normal(shape))
    features = model.backbone(x)
    if features.ndim > 2:  # resnet's backbone ends at the pooled (N, C, 1, 1) map
        features = features.flatten(1)
    numpy.testing.assert_allclose(model.head(features).numpy(), model(x).numpy(), rtol=1e-6)


def test_lenet_exposes_features_and_classifier():
    lenet = LeNet5()
    assert lenet.head is lenet.classifier[5]
    assert [type(m).__name__ for m in lenet.features][:3] == ["Conv2d", "ReLU", "MaxPool2d"]


@pytest.mark.parametrize("build, shape", [(lambda: SmallCNN(), (2, 1, 28, 28)), (lambda: LeNet5(), (2, 1, 28, 28)),
                                          (lambda: resnet8(num_classes=3), (2, 3, 16, 16))],
                         ids=["smallcnn", "lenet5", "resnet8"])
def test_models_train_step_on_every_device_matches_the_cpu(build, shape, device):
    minitl.manual_seed(0)
    cpu_model, moved = build(), build()
    moved.load_state_dict(cpu_model.state_dict())
    moved.to(device)
    x = numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32)
    target = numpy.arange(shape[0]) % 3
    results = []
    for model, where in ((cpu_model, "cpu"), (moved, device)):
        loss = F.cross_entropy(model(minitl.tensor(x, device=where)), minitl.tensor(target, device=where))
        loss.backward()
        results.append([loss.numpy()] + [p.grad.numpy() for p in model.parameters()])
    for ours, reference in zip(*results):
        numpy.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)



@pytest.mark.parametrize("make, head, shape", [(lambda: SmallCNN(5), "head", (1, 28, 28)),
                                               (lambda: LeNet5(5), "classifier.5", (1, 28, 28)),
                                               (lambda: MLP([784, 32, 5]), "head", (784,))])
def test_fc_is_refused_where_the_head_has_another_name(make, head, shape):
    model = make()
    with pytest.raises(AttributeError, match=rf"no 'fc': its head is '{head}'.*never be called.*keep 5 classes.*"
                                             r"model.head = Linear\(\d+, k\).*replace_head\(k\)"):
        model.fc = Linear(model.head.in_features, 2)
    assert "fc" not in dict(model.named_children())
    model.head = Linear(model.head.in_features, 2)  # the spelling that works, on every model
    assert model(minitl.randn(1, *shape)).shape == (1, 2)


def test_fc_stays_resnets_head():
    model = resnet8(5)
    model.fc = Linear(model.fc.in_features, 2)
    assert model.head is model.fc
    assert model(minitl.randn(1, 3, 16, 16)).shape == (1, 2)


def test_a_model_of_ones_own_may_name_a_layer_fc_before_its_head():
    class Tiny(TransferModel):
        def __init__(self):
            super().__init__()
            self.fc = Linear(4, 3)    # a hidden layer that happens to be called fc
            self.head = Linear(3, 2)

        def forward(self, x):
            return self.head(self.fc(x))

    assert Tiny()(minitl.randn(1, 4)).shape == (1, 2)
