"""The layer library: parameter shapes and default init as PyTorch, forward parity, containers, init."""
import math

import numpy
import pytest

import minitl
from minitl import nn


def test_parameter_shapes_follow_pytorch():
    assert nn.Linear(3, 5).weight.shape == (5, 3) and nn.Linear(3, 5).bias.shape == (5,)
    conv = nn.Conv2d(4, 6, 3, groups=2)
    assert conv.weight.shape == (6, 2, 3, 3) and conv.bias.shape == (6,)
    assert nn.Conv2d(1, 2, (3, 5), bias=False).bias is None
    assert nn.Conv2d(1, 2, (3, 5)).weight.shape == (2, 1, 3, 5)
    bn = nn.BatchNorm2d(7)
    assert bn.weight.shape == (7,) and bn.running_var.shape == (7,) and bn.num_batches_tracked.shape == ()
    assert nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict() == {}
    assert nn.LayerNorm((4, 5)).weight.shape == (4, 5)
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_default_init_bounds_are_pytorchs():
    layer = nn.Linear(100, 400)
    bound = 1 / math.sqrt(100)  # kaiming_uniform(a=sqrt 5) gives the same bound as the bias
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.dtype == numpy.float32
    assert numpy.abs(w).max() <= bound and numpy.abs(w).max() > 0.95 * bound
    assert numpy.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound / math.sqrt(3) * 10
    conv = nn.Conv2d(8, 16, 3)
    assert numpy.abs(conv.weight.numpy()).max() <= 1 / math.sqrt(8 * 9)


def test_manual_seed_makes_init_reproducible():
    minitl.manual_seed(7)
    a = nn.Linear(4, 4).weight.numpy()
    minitl.manual_seed(7)
    b = nn.Linear(4, 4).weight.numpy()
    c = nn.Linear(4, 4).weight.numpy()
    numpy.testing.assert_array_equal(a, b)
    assert not numpy.array_equal(b, c)


def test_init_functions():
    t = nn.Parameter(numpy.zeros((200, 300)))
    nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 300)) < 0.01
    nn.init.xavier_uniform_(t)
    assert numpy.abs(t.numpy()).max() <= math.sqrt(6 / 500)
    nn.init.xavier_normal_(t)
    assert abs(t.numpy().std() - math.sqrt(2 / 500)) < 0.005
    nn.init.kaiming_uniform_(t, nonlinearity="relu")
    assert numpy.abs(t.numpy()).max() <= math.sqrt(2) * math.sqrt(3 / 300)
    nn.init.zeros_(t)
    assert not t.numpy().any()
    nn.init.ones_(t)
    assert numpy.all(t.numpy() == 1)
    with pytest.raises(ValueError, match="at least 2"):
        nn.init.xavier_uniform_(nn.Parameter(numpy.zeros(3)))


LAYERS = [
    ("Linear", lambda: nn.Linear(6, 4), lambda t: t.nn.Linear(6, 4), (3, 6)),
    ("Conv2d", lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), lambda t: t.nn.Conv2d(2, 4, 3, 2, 1), (2, 2, 7, 7)),
    ("Conv2d-groups", lambda: nn.Conv2d(4, 4, 3, groups=4, dilation=2, bias=False),
     lambda t: t.nn.Conv2d(4, 4, 3, groups=4, dilation=2, bias=False), (2, 4, 9, 9)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(6), lambda t: t.nn.BatchNorm1d(6), (5, 6)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3), lambda t: t.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    ("LayerNorm", lambda: nn.LayerNorm(6), lambda t: t.nn.LayerNorm(6), (3, 6)),
    ("ReLU", nn.ReLU, lambda t: t.nn.ReLU(), (3, 6)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2), (3, 6)),
    ("ELU", nn.ELU, lambda t: t.nn.ELU(), (3, 6)),
    ("GELU", lambda: nn.GELU(approximate="tanh"), lambda t: t.nn.GELU(approximate="tanh"), (3, 6)),
    ("GELU-exact", nn.GELU, lambda t: t.nn.GELU(), (3, 6)),
    ("SiLU", nn.SiLU, lambda t: t.nn.SiLU(), (3, 6)),
    ("Mish", nn.Mish, lambda t: t.nn.Mish(), (3, 6)),
    ("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.8), lambda t: t.nn.Hardtanh(-0.5, 0.8), (3, 6)),
    ("ReLU6", nn.ReLU6, lambda t: t.nn.ReLU6(), (3, 6)),
    ("Hardsigmoid", nn.Hardsigmoid, lambda t: t.nn.Hardsigmoid(), (3, 6)),
    ("Hardswish", nn.Hardswish, lambda t: t.nn.Hardswish(), (3, 6)),
    ("SELU", nn.SELU, lambda t: t.nn.SELU(), (3, 6)),
    ("LogSigmoid", nn.LogSigmoid, lambda t: t.nn.LogSigmoid(), (3, 6)),
    ("Tanh", nn.Tanh, lambda t: t.nn.Tanh(), (3, 6)),
    ("Sigmoid", nn.Sigmoid, lambda t: t.nn.Sigmoid(), (3, 6)),
    ("Softmax", lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1), (3, 6)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1), (3, 6)),
    ("MaxPool2d", lambda: nn.MaxPool2d(3, 2, 1), lambda t: t.nn.MaxPool2d(3, 2, 1), (2, 3, 8, 8)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), lambda t: t.nn.AvgPool2d(2), (2, 3, 8, 8)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(1), lambda t: t.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    ("Flatten", nn.Flatten, lambda t: t.nn.Flatten(), (2, 3, 4, 5)),
    ("Identity", nn.Identity, lambda t: t.nn.Identity(), (2, 3)),
]


@pytest.mark.parametrize("name,make,make_torch,shape", LAYERS, ids=[row[0] for row in LAYERS])
def test_layer_matches_torch_in_train_mode(name, make, make_torch, shape):
    torch = pytest.importorskip("torch")
    layer, twin = make(), make_torch(torch)
    report = layer.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    assert not report.missing and not report.unexpected
    x = numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32)
    xm = minitl.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, t_out = layer(xm), twin(xt)
    numpy.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = numpy.random.default_rng(1).standard_normal(out.shape).astype(numpy.float32)
    out.backward(minitl.tensor(g))
    t_out.backward(torch.tensor(g))
    numpy.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    t_params = dict(twin.named_parameters())
    for pname, p in layer.named_parameters():
        numpy.testing.assert_allclose(p.grad.numpy(), t_params[pname].grad.numpy(), rtol=1e-4, atol=1e-4)
    for bname, b in layer.named_buffers():
        numpy.testing.assert_allclose(b.numpy(), twin.state_dict()[bname].numpy(), rtol=1e-5, err_msg=bname)


def test_batchnorm_momentum_none_is_a_cumulative_average():
    torch = pytest.importorskip("torch")
    bn, twin = nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None)
    rng = numpy.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((4, 3)).astype(numpy.float32) + 2
        bn(minitl.tensor(x)), twin(torch.tensor(x))
    numpy.testing.assert_allclose(bn.running_mean.numpy(), twin.running_mean.numpy(), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 3


def _pretrained_batchnorm_pair(torch, rng):
    """A BatchNorm2d with non-default weights and running statistics, and its torch twin holding the same."""
    bn, twin = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    state = {"weight": rng.uniform(0.5, 1.5, 3), "bias": rng.standard_normal(3), "running_mean": rng.standard_normal(3),
             "running_var": rng.uniform(0.5, 2.0, 3)}
    for name, value in state.items():
        getattr(bn, name).data[...] = value
        getattr(twin, name).data[...] = torch.tensor(value)
    return bn, twin


def test_batchnorm_requires_grad_off_in_train_mode_behaves_as_pytorchs(rng):
    """PyTorch's idiom ``for p in bn.parameters(): p.requires_grad = False`` is not freezing: in train()
    a BatchNorm still normalises with batch statistics and updates its running ones, in both libraries."""
    torch = pytest.importorskip("torch")
    bn, twin = _pretrained_batchnorm_pair(torch, rng)
    start_mean = bn.running_mean.numpy().copy()
    for module in (bn, twin):
        for p in module.parameters():
            p.requires_grad = False
        module.train()
    assert not bn.frozen
    for _ in range(3):
        x = (rng.standard_normal((8, 3, 5, 5)) * 3 + 2).astype(numpy.float32)
        out, expected = bn(minitl.tensor(x)), twin(torch.tensor(x))
        numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
        # batch statistics: each channel of the output has the BatchNorm's own bias as its mean
        numpy.testing.assert_allclose(out.numpy().mean(axis=(0, 2, 3)), bn.bias.numpy(), atol=1e-4)
    for name in ("running_mean", "running_var"):
        numpy.testing.assert_allclose(getattr(bn, name).numpy(), getattr(twin, name).numpy(), rtol=1e-5, err_msg=name)
    assert not numpy.allclose(bn.running_mean.numpy(), start_mean)
    assert int(bn.num_batches_tracked.item()) == int(twin.num_batches_tracked.item()) == 3


def test_frozen_batchnorm_in_train_mode_is_pytorchs_eval_mode(rng):
    """``freeze()`` (effect 4): running statistics used and kept, whatever train() says; what PyTorch
    gives only in eval mode."""
    torch = pytest.importorskip("torch")
    bn, twin = _pretrained_batchnorm_pair(torch, rng)
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    bn.freeze().train()
    twin.eval()
    assert bn.training and bn.frozen and not any(p.requires_grad for p in bn.parameters())
    for _ in range(3):
        x = (rng.standard_normal((8, 3, 5, 5)) * 3 + 2).astype(numpy.float32)
        numpy.testing.assert_allclose(bn(minitl.tensor(x)).numpy(), twin(torch.tensor(x)).detach().numpy(),
                                      rtol=1e-4, atol=1e-5)
    for name, value in bn.state_dict().items():
        numpy.testing.assert_array_equal(value, before[name], err_msg=name)


def test_batchnorm_rejects_wrong_rank():
    with pytest.raises(ValueError, match="BatchNorm2d expects"):
        nn.BatchNorm2d(3)(minitl.tensor(numpy.zeros((2, 3))))


def test_dropout_layer_in_train_and_eval():
    layer = nn.Dropout(0.5)
    x = minitl.tensor(numpy.ones((100, 100)))
    out = layer(x).numpy()
    assert set(numpy.unique(out)) <= {0.0, 2.0} and 0.4 < (out == 0).mean() < 0.6
    layer.eval()
    numpy.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    assert not nn.Dropout(1.0)(x).numpy().any()  # p = 1 drops everything, as in torch
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_sequential_container_behaviour():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert len(seq) == 3 and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    x = minitl.tensor(numpy.ones((4, 2)))
    numpy.testing.assert_allclose(seq(x).numpy(), c(b(a(x))).numpy())
    named = nn.Sequential({"first": a, "second": b})
    assert [n for n, _ in named.named_children()] == ["first", "second"]


def test_module_list_and_dict_register_parameters():
    lst = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert len(list(lst.parameters())) == 4 and lst[1] is list(lst)[1]
    lst.append(nn.Linear(2, 1))
    assert [n for n, _ in lst.named_parameters()][-1] == "2.bias"
    d = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    d["dec"] = nn.Linear(2, 2)
    assert list(d.keys()) == ["enc", "dec"] and "dec" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]


def test_repr_shows_structure_frozen_and_lr_scale():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq[0].freeze()
    seq.lr_scale = 0.1
    text = repr(seq)
    assert "Linear(in_features=2, out_features=3, bias=True)" in text
    assert "frozen" in text and "lr_scale=0.1" in text


LAYERS_ON_EVERY_DEVICE = {  # name -> (layer factory, input shape)
    "linear": (lambda: nn.Linear(6, 4), (3, 6)),
    "conv2d": (lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 7, 7)),
    "conv2d-groups-dilation": (lambda: nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2), (2, 4, 6, 6)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5), (6, 5)),
    "layernorm": (lambda: nn.LayerNorm(5), (3, 5)),
    "maxpool": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 2, 7, 7)),
    "avgpool": (lambda: nn.AvgPool2d(2), (2, 2, 6, 6)),
    "adaptive-avgpool": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    "activations": (lambda: nn.Sequential(nn.ReLU(), nn.GELU(), nn.ELU(), nn.LeakyReLU(0.1), nn.Sigmoid(),
                                          nn.Tanh(), nn.LogSoftmax(dim=1)), (4, 6)),
    "flatten-linear": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), (2, 3, 2, 2)),
}


@pytest.mark.parametrize("name", list(LAYERS_ON_EVERY_DEVICE))
def test_layer_forward_backward_and_state_match_the_cpu(name, device, rng):
    factory, shape = LAYERS_ON_EVERY_DEVICE[name]
    minitl.manual_seed(0)
    cpu_layer = factory()
    moved = factory()
    moved.load_state_dict(cpu_layer.state_dict())
    moved.to(device)
    x = rng.standard_normal(shape).astype(numpy.float32)
    results = []
    for layer, where in ((cpu_layer, "cpu"), (moved, device)):
        inputs = minitl.tensor(x, requires_grad=True, device=where)
        out = layer(inputs)
        assert out.device == where
        upstream = numpy.random.default_rng(1).standard_normal(out.shape).astype(numpy.float32)
        out.backward(minitl.tensor(upstream, device=where))
        results.append([out.numpy(), inputs.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
                       + [b.numpy() for b in layer.buffers()])
    for ours, reference in zip(*results):
        numpy.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
