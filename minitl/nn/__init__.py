"""Layers, models' building blocks, and the Module tree with ``frozen`` and ``lr_scale``."""
from . import functional, init, utils
from .layers.activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .layers.container import ModuleDict, ModuleList, Sequential
from .layers.conv import Conv2d
from .layers.dropout import Dropout
from .layers.linear import Linear
from .layers.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .layers.shape import Flatten, Identity
from .module import Module
from .parameter import Parameter
from .tree import effective_lr_scale
from .layers.activation import Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, ReLU6, SELU, SiLU  # noqa: E402
from .layers.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                          SmoothL1Loss)
from .layers.conv1d import Conv1d
from .layers.conv_transpose import ConvTranspose2d
from .layers.embedding import Embedding
from .layers.group_norm import GroupNorm
from .layers.upsample import Upsample
from .layers.lora import LoRAConv2d, LoRALinear
