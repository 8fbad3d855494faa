"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``.

BatchNorm is where freezing most often goes wrong in practice: a "frozen" backbone whose BatchNorm
still updates its running statistics on the new data is not frozen. Here a frozen BatchNorm
normalises with its running statistics and leaves them untouched, whatever ``train()`` says
(effect 4 of ``frozen``, see ``nn/module.py``). Only ``frozen`` does that: switching off
``requires_grad`` on its parameters (PyTorch's idiom) leaves a BatchNorm in ``train()`` normalising with
batch statistics and updating its running ones, exactly as PyTorch does — the classic pitfall of
"freezing" a backbone that way (``demos/13_batchnorm_pitfall.py``).
"""
import numpy

from ...backend import default_device
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from ..parameter import Parameter


class _BatchNorm(Module):
    expected_ndim = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=numpy.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        device = device or default_device()
        if affine:
            self.weight = Parameter(numpy.ones(num_features), dtype=dtype, device=device)
            self.bias = Parameter(numpy.zeros(num_features), dtype=dtype, device=device)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
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
        use_batch_stats = (self.training and not self.frozen) or not self.track_running_stats
        momentum = self.momentum
        if use_batch_stats and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # cumulative moving average, as PyTorch
                momentum = 1.0 / int(self.num_batches_tracked.data)
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
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


class LayerNorm(Module):
    """Normalises over the last ``len(normalized_shape)`` axes of each sample (no running statistics)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, device=None, dtype=numpy.float32):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        device = device or default_device()
        if elementwise_affine:
            self.weight = Parameter(numpy.ones(self.normalized_shape), dtype=dtype, device=device)
            self.bias = Parameter(numpy.zeros(self.normalized_shape), dtype=dtype, device=device)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
