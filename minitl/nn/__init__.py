"""``minitl.nn``: the layers, PyTorch's names. ``Module``, ``Parameter`` and the layers the reference models
use are the spine's (``core/module.py``, ``core/layers.py``); the rest are wings in ``nn/layers``."""
from . import init
from ..core.layers import (AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Identity, Linear,
                           MaxPool2d, ReLU, Sequential, Sigmoid, Tanh)
from .layers.avg_pool import AvgPool2d
from .layers.layer_norm import LayerNorm
from .layers.containers import ModuleDict, ModuleList
from ..core.module import Module, Parameter
from . import backward_hooks, functional, summary, utils  # backward_hooks and summary plug into the spine's seams
from ..core.module import effective_lr_scale
from .layers.activation import (ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish,  # noqa: E402
                                ReLU6, SELU, SiLU, Softmax)
from .layers.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                          SmoothL1Loss)
from .layers.conv1d import Conv1d
from .layers.conv_transpose import ConvTranspose2d
from .layers.embedding import Embedding
from .layers.layer_norm import GroupNorm
from .layers.upsample import Upsample
from .layers.lora import LoRAConv2d, LoRALinear
