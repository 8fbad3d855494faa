"""No layer reads the device from the host in its forward or backward: on CuPy every such read is a sync that
stalls the queue of kernels, and a training step is allowed one (the loss; ``device_checks.py`` rides along).

The strict stand-in counts every device->host copy; each layer runs forward and backward on it and must
count none. The table must name every public layer of ``minitl.nn``, so a new layer is checked too.
"""
import inspect

import numpy
import pytest

import minitl
from minitl import nn
from minitl.transfer.adapter import Adapter
from minitl.transfer.prompt import VisualPrompt


def _floats(*shape):
    return numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32)


def _classes(n, classes):
    return numpy.arange(n) % classes


def _probabilities(*shape):
    return 1 / (1 + numpy.exp(-_floats(*shape)))


_IMAGES, _ROWS = (2, 3, 6, 6), (4, 6)
LAYERS = {  # name -> (make the layer, the inputs as host arrays: the first gets a gradient)
    "Linear": (lambda: nn.Linear(6, 3), lambda: [_floats(*_ROWS)]),
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), lambda: [_floats(*_IMAGES)]),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), lambda: [_floats(2, 3, 8)]),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), lambda: [_floats(*_IMAGES)]),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(6), lambda: [_floats(*_ROWS)]),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), lambda: [_floats(*_IMAGES)]),
    "LayerNorm": (lambda: nn.LayerNorm(6), lambda: [_floats(*_ROWS)]),
    "GroupNorm": (lambda: nn.GroupNorm(1, 3), lambda: [_floats(*_IMAGES)]),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 2, 1), lambda: [_floats(*_IMAGES)]),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), lambda: [_floats(*_IMAGES)]),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(2), lambda: [_floats(*_IMAGES)]),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), lambda: [_floats(*_IMAGES)]),
    "Flatten": (nn.Flatten, lambda: [_floats(*_IMAGES)]),
    "Identity": (nn.Identity, lambda: [_floats(*_ROWS)]),
    "Dropout": (lambda: nn.Dropout(0.5), lambda: [_floats(*_ROWS)]),
    "Embedding": (lambda: nn.Embedding(10, 4), lambda: [_classes(5, 10)]),  # no input gradient: the weight's
    "Sequential": (lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU()), lambda: [_floats(*_ROWS)]),
    "LoRALinear": (lambda: nn.LoRALinear(nn.Linear(6, 3), rank=2), lambda: [_floats(*_ROWS)]),
    "LoRAConv2d": (lambda: nn.LoRAConv2d(nn.Conv2d(3, 4, 3), rank=2), lambda: [_floats(*_IMAGES)]),
    "Adapter": (lambda: Adapter(nn.Linear(6, 6), bottleneck=2), lambda: [_floats(*_ROWS)]),
    "VisualPrompt": (lambda: VisualPrompt(pad=1, image_size=6, channels=3), lambda: [_floats(*_IMAGES)]),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, lambda: [_floats(*_ROWS), _classes(4, 6)]),
    "NLLLoss": (nn.NLLLoss, lambda: [_floats(*_ROWS), _classes(4, 6)]),
    "MSELoss": (nn.MSELoss, lambda: [_floats(*_ROWS), _floats(*_ROWS)]),
    "L1Loss": (nn.L1Loss, lambda: [_floats(*_ROWS), _floats(*_ROWS) + 0.5]),
    "SmoothL1Loss": (nn.SmoothL1Loss, lambda: [_floats(*_ROWS), _floats(*_ROWS) + 0.5]),
    "BCELoss": (nn.BCELoss, lambda: [_probabilities(*_ROWS), _probabilities(*_ROWS)]),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, lambda: [_floats(*_ROWS), _probabilities(*_ROWS)]),
    "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"), lambda: [_floats(*_ROWS), _probabilities(*_ROWS)]),
}
for _name in ("ReLU", "LeakyReLU", "ELU", "GELU", "Tanh", "Sigmoid", "SiLU", "Mish", "ReLU6", "Hardsigmoid",
              "Hardswish", "SELU", "LogSigmoid", "Hardtanh"):
    LAYERS[_name] = (getattr(nn, _name), lambda: [_floats(*_ROWS)])
for _name in ("Softmax", "LogSoftmax"):
    LAYERS[_name] = (lambda name=_name: getattr(nn, name)(dim=1), lambda: [_floats(*_ROWS)])
WITHOUT_FORWARD = {"Module", "ModuleList", "ModuleDict"}  # containers that only hold layers


def test_the_table_names_every_layer():
    public = {name for name, value in vars(nn).items() if inspect.isclass(value) and issubclass(value, nn.Module)}
    assert public - WITHOUT_FORWARD - set(LAYERS) == set()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_and_backward_read_nothing_from_the_device(name, standin):
    make, inputs = LAYERS[name]
    layer = make().to("cuda")
    arrays = inputs()
    for step in ("warm-up", "counted"):  # the warm-up pays what happens once (a first read after a move)
        tensors = [minitl.tensor(a, device="cuda", requires_grad=i == 0 and a.dtype.kind == "f")
                   for i, a in enumerate(arrays)]
        standin.COUNTS.reset()
        out = layer(*tensors)
        out.backward(minitl.ones(out.shape, device="cuda") if out.ndim else None)
        reads = standin.COUNTS.device_to_host
        assert reads == 0 or step == "warm-up", f"{name}: {reads} device->host read(s) in one forward + backward"
    assert any(p.grad is not None for p in layer.parameters()) or tensors[0].requires_grad
