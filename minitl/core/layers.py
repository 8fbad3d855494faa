"""The layers the reference models are built from, each a Module around an op of ``core/ops``.

Read in this order: the containers (``Sequential``), ``Linear``, ``Conv2d``, the activations, the
pools, the normalisations (where ``frozen`` changes what BatchNorm does: effect 4), ``Dropout``,
``Flatten`` and ``Identity``. Each layer's ``forward`` is one call of its op; its ``__init__``
makes the parameters (``core/init.py`` fills them as PyTorch does). More layers (transposed
convolutions, embeddings, LoRA, ...) are wings in ``minitl/nn/layers``.
"""
import collections

import numpy

from . import seams
from .backend import default_device
from .init import add_affine, add_weight_and_bias, default_layer_init_
from .module import Module
from .ops.activation import dropout, relu, sigmoid, tanh
from .ops.conv import conv2d, pair
from .ops.linalg import linear
from .ops.norm import batch_norm
from .ops.pool import adaptive_avg_pool2d, max_pool2d
from .ops.shape import flatten
from .tensor import Tensor

# ----- the container: Sequential runs its children in order (ModuleList, ModuleDict: nn/layers/containers.py) -----

class Ordered(Module):
    """Children kept in order under the names '0', '1', ... (or given names)."""

    def __init__(self, modules=()):
        super().__init__()
        if isinstance(modules, (dict, collections.OrderedDict)):
            for name, m in modules.items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    @classmethod
    def _view(cls, named):
        """A container over existing modules that does not take ownership of them."""
        view = cls()
        for name, m in named:
            view._modules[name] = m
        return view

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return type(self)._view(items[index])
        return items[index][1]

    def __setitem__(self, index, module):
        name = list(self._modules.keys())[index]
        self.add_module(name, module)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class Sequential(Ordered):
    """Apply each child to the output of the previous one: ``Sequential(Conv2d(...), ReLU(), ...)``, or an ordered
    dict of ``name: module``. Its ``blocks()`` (what ``freeze_to`` counts) are its children."""

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (dict, collections.OrderedDict)):
            modules = modules[0]
        super().__init__(modules)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


# ----- Linear: y = x W^T + b, the fully connected layer (a classifier head is one) -----

class Linear(Module):
    """x: (N, *, in_features) -> (N, *, out_features). Weight (out, in) as PyTorch, so keys match."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=numpy.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype, device)

    def reset_parameters(self):
        default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


# ----- Conv2d: a 2-D convolution over NCHW images with OIHW weights (PyTorch's layout) -----

class Conv2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H + 2p - d(k-1) - 1) // s + 1.

    Weight shape (out_channels, in_channels // groups, kh, kw); ``groups=in_channels`` is depthwise.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, device=None, dtype=numpy.float32):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        # "same" / "valid" stay strings: F.conv2d resolves them against the kernel
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.dilation, self.groups = pair(dilation, "dilation"), groups
        add_weight_and_bias(self, (out_channels, in_channels // groups) + self.kernel_size, bias, dtype, device)

    def reset_parameters(self):
        default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        check = seams.plugged_in["layer_input"]  # a guard names this layer and the likely fix (seams.py)
        if check is not None:
            check(self, x)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


# ----- activations: parameter-free Modules around the ops of core/ops/activation.py -----

class ReLU(Module):
    """max(x, 0), elementwise."""

    def __init__(self, inplace=False):  # ``inplace`` accepted for PyTorch compatibility; ignored
        super().__init__()

    def forward(self, x):
        return relu(x)


class Tanh(Module):
    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return sigmoid(x)


# ----- pooling: MaxPool2d, AdaptiveAvgPool2d (global pooling at size 1); AvgPool2d: nn/layers/avg_pool.py -----

class Pool2d(Module):
    """Window settings shared by max and average pooling; stride defaults to the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class MaxPool2d(Pool2d):
    """Largest value in each window; the default stride gives non-overlapping windows.

    ``dilation``, ``ceil_mode`` and ``return_indices`` as in PyTorch (``core/ops/pool.py``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding)
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AdaptiveAvgPool2d(Module):
    """Average down to a fixed ``output_size`` whatever the input size: (1, 1) is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


# ----- normalisation: BatchNorm1d, BatchNorm2d, LayerNorm -----

# BatchNorm is where freezing most often goes wrong: a "frozen" backbone whose BatchNorm still updates its
# running statistics on the new data is not frozen. A frozen BatchNorm here normalises with its running
# statistics and leaves them untouched, whatever ``train()`` says (effect 4). PyTorch's idiom, ``requires_grad``
# off, leaves them moving in ``train()``, as in PyTorch: the classic pitfall (``demos/13_batchnorm_pitfall.py``).

class _BatchNorm(Module):
    expected_ndim = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=numpy.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        device = device or default_device()
        add_affine(self, num_features, affine, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(numpy.zeros(num_features), dtype=dtype, device=device))
            self.register_buffer("running_var", Tensor(numpy.ones(num_features), dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", Tensor(numpy.array(0, dtype=numpy.int64), device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        if x.ndim not in self.expected_ndim:
            raise ValueError(f"{type(self).__name__} expects input with {' or '.join(map(str, self.expected_ndim))} "
                             f"axes, got shape {x.shape}")
        # frozen (effect 4): a frozen BatchNorm uses its running statistics and never updates them.
        # The stored flag decides, not requires_grad: a PyTorch-style requires_grad loop changes nothing here.
        # BEGIN SOLUTION batchnorm_frozen
        use_batch_stats = (self.training and not self.frozen) or not self.track_running_stats
        # END SOLUTION
        momentum = self.momentum
        if use_batch_stats and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # cumulative moving average, as PyTorch
                momentum = 1.0 / int(self.num_batches_tracked.data)
        return batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None,
                            self.weight, self.bias, training=use_batch_stats,
                            momentum=momentum if momentum is not None else 0.0, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalises each feature of (N, C) or (N, C, L) input over the batch."""
    expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of (N, C, H, W) input over batch and space."""
    expected_ndim = (4,)


# ----- Dropout, Flatten and Identity -----

class Dropout(Module):
    """Zeroes each element with probability ``p`` in training (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): merges axes ``start_dim..end_dim``."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)


class Identity(Module):
    """Returns its input: a placeholder, e.g. a removed head."""

    def forward(self, x):
        return x
