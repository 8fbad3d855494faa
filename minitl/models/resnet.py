"""ResNet with torchvision's exact parameter and buffer names, so torchvision checkpoints load by name.

``resnet18``: conv1 7x7/2 - bn1 - relu - maxpool 3x3/2 - layer1..layer4 (2 BasicBlocks each,
64/128/256/512 channels) - avgpool - fc. ``resnet8``: a CIFAR-style small variant with the same
names: conv1 3x3/1 (16 channels), no max pooling, layer1..layer3 with one BasicBlock each
(16/32/64 channels), avgpool, fc.

A BasicBlock computes relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is the
identity, or ``downsample`` (1x1 conv + BN) when the shape changes. The skip connection is why
gradients reach early layers of a deep network.
"""

from ..core.layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Identity, Linear, MaxPool2d, ReLU, Sequential
from ..core.module import Module
from ..core.ops.shape import flatten
from ..nn import init
from .base import TransferModel, build


class BasicBlock(Module):
    """Two 3x3 convolutions with a skip connection (torchvision's ``BasicBlock``)."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(c_out)
        self.relu = ReLU()
        self.conv2 = Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(c_out)
        if stride != 1 or c_in != c_out:
            self.downsample = Sequential(Conv2d(c_in, c_out, 1, stride=stride, bias=False), BatchNorm2d(c_out))
        else:
            self.downsample = None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet(TransferModel):
    """(N, in_channels, H, W) -> (N, num_classes). Build with ``resnet18()`` or ``resnet8()``."""

    head_path = "fc"

    def __init__(self, widths, blocks_per_stage, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        self.num_classes, self.in_channels = num_classes, in_channels
        self.config = {"widths": list(widths), "blocks_per_stage": list(blocks_per_stage),
                       "num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
        if small_input:
            self.conv1 = Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        self.maxpool = Identity() if small_input else MaxPool2d(3, stride=2, padding=1)
        c_in = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks_per_stage)):
            stride = 1 if i == 0 else 2
            stage = [BasicBlock(c_in, width, stride)] + [BasicBlock(width, width) for _ in range(count - 1)]
            setattr(self, f"layer{i + 1}", Sequential(*stage))
            c_in = width
        self.stages = len(widths)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc = Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _stages(self):
        return [getattr(self, f"layer{i + 1}") for i in range(self.stages)]

    @property
    def stem(self):
        """conv1 - bn1 - relu - maxpool, as a view (the modules stay owned by the model)."""
        return Sequential._view([(n, getattr(self, n)) for n in ("conv1", "bn1", "relu", "maxpool")])

    @property
    def backbone(self):
        """Everything before ``fc``, as a view."""
        names = ["conv1", "bn1", "relu", "maxpool"] + [f"layer{i + 1}" for i in range(self.stages)] + ["avgpool"]
        return Sequential._view([(n, getattr(self, n)) for n in names])

    def blocks(self):
        return [self.stem, *self._stages(), self.fc]

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self._stages():
            x = stage(x)
        return self.fc(flatten(self.avgpool(x), 1))


def resnet18(num_classes=1000, in_channels=3, weights=None):
    """ResNet-18 with torchvision's names (``layer2.0.downsample.0.weight``, ``fc.weight``, ...).

    ``weights``: None (random init), a path to a weight file (torchvision's ``.pth`` loads by name;
    a head of another shape stays fresh and is reported), or a shipped name made for ResNet from
    ``minitl.weights.list()`` (none ships yet; a SmallCNN name is refused).
    """
    return build(ResNet([64, 128, 256, 512], [2, 2, 2, 2], num_classes, in_channels), weights)


def resnet8(num_classes=10, in_channels=3, weights=None):
    """A small CIFAR-style ResNet (16/32/64 channels, one block per stage), same naming scheme.

    ``weights``: as for ``resnet18``: None, a weight-file path, or a shipped name made for ResNet.
    """
    return build(ResNet([16, 32, 64], [1, 1, 1], num_classes, in_channels, small_input=True), weights)


__all__ = ["BasicBlock", "ResNet", "resnet18", "resnet8"]
