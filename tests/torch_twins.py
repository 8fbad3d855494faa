"""The reference models written in PyTorch, with the same parameter names as minitl's.

Used by the model and weight-file tests as an oracle: load one side's state_dict into the other and
compare outputs and gradients. Import only after ``pytest.importorskip("torch")``.
"""
import collections

import torch
from torch import nn


def torch_smallcnn(num_classes=10, in_channels=1):
    def block(c_in, c_out, tail):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), *tail)

    class TorchSmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(collections.OrderedDict(
                block1=block(in_channels, 32, [nn.MaxPool2d(2)]),
                block2=block(32, 64, [nn.MaxPool2d(2)]),
                block3=block(64, 128, [nn.AdaptiveAvgPool2d(1), nn.Flatten()]),
            ))
            self.head = nn.Linear(128, num_classes)

        def forward(self, x):
            return self.head(self.backbone(x))

    return TorchSmallCNN()


def torch_lenet5(num_classes=10, in_channels=1):
    class TorchLeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                            nn.ReLU(), nn.Linear(84, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))

    return TorchLeNet5()


class TorchBasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(nn.Module):
    """torchvision's ResNet layout (names identical to torchvision.models.resnet18)."""

    def __init__(self, widths, counts, num_classes, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, 1)
        c_in = widths[0]
        self.stages = len(widths)
        for i, (w, n) in enumerate(zip(widths, counts)):
            blocks = [TorchBasicBlock(c_in, w, 1 if i == 0 else 2)] + [TorchBasicBlock(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            c_in = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torch_resnet18(num_classes=1000, in_channels=3):
    return TorchResNet([64, 128, 256, 512], [2, 2, 2, 2], num_classes, in_channels)


def torch_resnet8(num_classes=10, in_channels=3):
    return TorchResNet([16, 32, 64], [1, 1, 1], num_classes, in_channels, small_input=True)


def randomize_batchnorm(model, seed=0, num_batches_tracked=None):
    """Give every BatchNorm non-trivial affine parameters and running statistics (and, when given, that
    ``num_batches_tracked`` count)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)
                m.running_mean.uniform_(-0.5, 0.5, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                if num_batches_tracked is not None:
                    m.num_batches_tracked.fill_(num_batches_tracked)
    return model


def state_dict_numpy(model):
    return collections.OrderedDict((k, v.detach().numpy().copy()) for k, v in model.state_dict().items())
