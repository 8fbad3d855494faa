"""LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for 28x28 (or 32x32) images.

    features:   conv5x5(in->6, pad 2) - ReLU - maxpool2 - conv5x5(6->16) - ReLU - maxpool2
    classifier: Flatten - Linear(16*5*5 -> 120) - ReLU - Linear(120 -> 84) - ReLU - Linear(84 -> classes)

Blocks for ``freeze_to``: conv block 1, conv block 2, the classifier.
"""
from ..core.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from .base import TransferModel, build


class LeNet5(TransferModel):
    """(N, in_channels, 28, 28) -> (N, num_classes). ``input_size=32`` drops the first conv's padding.

    ``weights``: None (random init), a shipped name from ``minitl.weights.list()`` made for LeNet5
    (none ships yet), or a weight-file path (a head of another shape stays fresh, reported).
    """

    head_path = "classifier.5"

    def __init__(self, num_classes=10, in_channels=1, input_size=28, weights=None):
        super().__init__()
        self.num_classes, self.in_channels = num_classes, in_channels
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "input_size": input_size}
        pad = 2 if input_size == 28 else 0
        self.features = Sequential(
            Conv2d(in_channels, 6, 5, padding=pad), ReLU(), MaxPool2d(2),
            Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
        )
        self.classifier = Sequential(
            Flatten(), Linear(16 * 5 * 5, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, num_classes),
        )
        build(self, weights)

    def blocks(self):
        return [self.features[0:3], self.features[3:6], self.classifier]

    def forward(self, x):
        return self.classifier(self.features(x))
