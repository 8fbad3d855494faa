"""Reference models, each with ``backbone`` / ``head``, ``blocks()`` and ``replace_head``."""
from .base import TransferModel
from .lenet import LeNet5
from .mlp import MLP
from .resnet import BasicBlock, ResNet, resnet8, resnet18
from .smallcnn import SmallCNN
