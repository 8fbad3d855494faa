"""SmallCNN: three conv blocks and a linear head, the workhorse of the Fashion-MNIST transfer tasks.

    block1: conv3x3(in->32, pad 1) - BN - ReLU - maxpool2      28x28 -> 14x14
    block2: conv3x3(32->64, pad 1) - BN - ReLU - maxpool2      14x14 -> 7x7
    block3: conv3x3(64->128, pad 1) - BN - ReLU - global avg   7x7   -> 1x1
    head:   Linear(128 -> num_classes)

``model.freeze_to(2)`` freezes block1 and block2; block3 and the head train. The state_dict keys
(``backbone.block1.0.weight``, ..., ``head.weight``) equal those of the same network written in
PyTorch as ``nn.Sequential(OrderedDict(block1=nn.Sequential(...), ...))``.
"""
import collections

from ..core.layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from .base import TransferModel, build


def _conv_block(c_in, c_out, pool):
    return Sequential(Conv2d(c_in, c_out, 3, padding=1), BatchNorm2d(c_out), ReLU(), pool)


class SmallCNN(TransferModel):
    """(N, in_channels, H, W) -> (N, num_classes) logits; any H, W >= 4 (global pooling at the end).

    ``weights``: None (random init), a shipped name (``"fashion-paired"``, ``"fashion-default"``:
    pretrained on a Fashion-MNIST source split, sha256 checked, head replaced and reported), or a
    weight-file path. ``SmallCNN(num_classes=5, weights="fashion-paired")`` is the transfer start.
    """

    def __init__(self, num_classes=10, in_channels=1, weights=None):
        super().__init__()
        self.num_classes, self.in_channels = num_classes, in_channels
        self.config = {"num_classes": num_classes, "in_channels": in_channels}
        self.backbone = Sequential(collections.OrderedDict(
            block1=_conv_block(in_channels, 32, MaxPool2d(2)),
            block2=_conv_block(32, 64, MaxPool2d(2)),
            block3=Sequential(Conv2d(64, 128, 3, padding=1), BatchNorm2d(128), ReLU(),
                              AdaptiveAvgPool2d(1), Flatten()),
        ))
        self.head = Linear(128, num_classes)
        build(self, weights)

    def blocks(self):
        return [*self.backbone, self.head]

    def forward(self, x):
        return self.head(self.backbone(x))
