"""LoRA (Hu et al. 2021): a frozen layer plus a trainable low-rank update, ``W + (alpha/r) B @ A``.

    layer = LoRALinear(Linear(128, 64), rank=4, alpha=4)   # takes over the Linear's weight and bias
    layer.weight.requires_grad                  # False: the pretrained weight stays as it was
    layer.lora_A.shape, layer.lora_B.shape      # (4, 128) random, (64, 4) zeros
    layer.merge(); layer.unmerge()              # fold the update into the weight, and take it out

Forward: ``y = x W^T + b + s * (x A^T) B^T`` with ``s = alpha / rank``. Because ``B`` starts at zero
the second term is exactly 0, so a freshly wrapped model computes the same numbers, bit for bit, as
the model it came from. ``B = 0`` does not stop learning: ``dL/dB = s * g^T (x A^T)`` is not zero
(A is random), and once B moves, A gets a gradient too.

What a student should notice: the trainable fraction is tiny (``r * (in + out)`` instead of
``in * out``) but backward still has to run through the layer (``dL/dx`` for the layers below), and
the update needs ``x`` (for ``dA``) and the small ``h = x A^T`` (for ``dB``): those are the saved
activations. ``merge()`` makes inference cost exactly the original layer's again.

``LoRAConv2d`` is the same for a convolution: ``A`` is an ``r``-channel convolution with the base's
kernel, stride and padding, ``B`` a 1x1 convolution from ``r`` channels to ``out_channels``; their
product is a rank-``r`` update of the (out, in*kh*kw) weight matrix.

Names: a LoRA layer keeps the base's ``weight`` and ``bias`` under the same names and adds
``lora_A``, ``lora_B`` and the buffer ``lora_merged`` (1 while the update is folded in, so a state
saved merged is not applied twice after loading).
"""
import math

import numpy

from ...core.layers import Conv2d, Linear
from ...core.module import Parameter
from ...core.tensor import Tensor
from .. import functional as F
from .. import init


class LoRAMixin:
    """What both LoRA layers share: the A/B parameters, the scaling, merge/unmerge and the FLOP count."""

    def _add_lora(self, base, rank, alpha, a_shape, b_shape):
        if int(rank) < 1:
            raise ValueError(f"{type(self).__name__}: rank must be at least 1, got {rank}")
        self.rank, self.alpha = int(rank), float(rank if alpha is None else alpha)
        self.scaling = self.alpha / self.rank
        self.weight = base.weight  # the same Parameter objects: a wrapped model's weights are the original's
        if base.bias is not None:
            self.bias = base.bias
        else:
            self.register_parameter("bias", None)
        device = base.weight.device
        for p in (self.weight, self.bias):  # the pretrained layer is frozen: no gradient, no update
            if p is not None:
                p.frozen = True
        self.lora_A = Parameter(numpy.zeros(a_shape), dtype=base.weight.dtype, device=device)
        self.lora_B = Parameter(numpy.zeros(b_shape), dtype=base.weight.dtype, device=device)
        init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # A random (as a layer's weight), B zero
        self.register_buffer("lora_merged", Tensor(numpy.array(0, dtype=numpy.int64), device=device))
        self._note_merged(False)

    @property
    def merged(self) -> bool:
        """Whether the update is folded into the weight. Asked on every forward, so answered from the host:
        the buffer is read (a device->host copy on the GPU) only when its array was replaced since the last
        answer -- by a load, or a move to another device -- never on a training step."""
        data, answer = self.__dict__["_merged_seen"]
        if data is not self.lora_merged.data:
            answer = self._note_merged(bool(int(self.lora_merged.data)))
        return answer

    def _note_merged(self, answer):
        self.__dict__["_merged_seen"] = (self.lora_merged.data, answer)  # kept off the Module's registries
        return answer

    def delta_weight(self):
        """The update ``s * B @ A`` as an array of the weight's shape (no graph)."""
        product = self.lora_B.data @ self.lora_A.data.reshape(self.rank, -1)
        return (self.scaling * product).astype(self.weight.dtype).reshape(self.weight.shape)

    def merge(self):
        """Fold the update into the weight: ``W <- W + s B A``; forward then runs the base layer only."""
        if not self.merged:
            self.weight.data += self.delta_weight()
            self.lora_merged.data[...] = 1
            self._note_merged(True)
        return self

    def unmerge(self):
        """Take the update out again: ``W <- W - s B A`` (equal to the old W to float32 round-off)."""
        if self.merged:
            self.weight.data -= self.delta_weight()
            self.lora_merged.data[...] = 0
            self._note_merged(False)
        return self

    def lora_flop_counts(self, positions, fan_in, fan_out, input_grad):
        """``(forward_macs, backward_macs)`` of the layer at ``positions`` output rows (N, or N*H*W).

        forward: base ``P*in*out`` + update ``P*r*(in + out)`` (0 when merged). backward, the base
        weight frozen: dB = g^T h and dh = g B (``P*r*out`` each), dA = dh^T x (``P*r*in``), and when
        the input needs a gradient, dx = g W + dh A (``P*in*out + P*r*in``).
        """
        base = positions * fan_in * fan_out
        if self.merged:
            return base, base * int(input_grad) + base * int(self.weight.requires_grad)
        update = positions * self.rank * (fan_in + fan_out)
        backward = positions * self.rank * (2 * fan_out + fan_in)
        if input_grad:
            backward += base + positions * self.rank * fan_in
        if self.weight.requires_grad:
            backward += base
        return base + update, backward

    def lora_repr(self):
        return f", rank={self.rank}, alpha={self.alpha:g}" + (", merged" if self.merged else "")


class LoRALinear(LoRAMixin, Linear):
    """(N, *, in) -> (N, *, out): a frozen ``Linear`` (weight and bias) plus ``s * (x A^T) B^T``.

    A: (r, in), B: (out, r).
    """

    def __init__(self, base, rank=4, alpha=None):
        if not isinstance(base, Linear):
            raise TypeError(f"LoRALinear wraps a Linear, got {type(base).__name__}")
        super(Linear, self).__init__()  # Module.__init__ only: the parameters come from ``base``
        self.in_features, self.out_features = base.in_features, base.out_features
        self._add_lora(base, rank, alpha, (rank, base.in_features), (base.out_features, rank))

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.merged:
            return y
        h = F.linear(x, self.lora_A)                      # (N, r): the only extra activation saved
        return y + F.linear(h, self.lora_B * self.scaling)  # y + s h B^T

    def flop_counts(self, input_shape, output_shape, input_grad):
        """``(forward_macs, backward_macs)``, read by ``transfer.count_flops``."""
        positions = int(numpy.prod(output_shape[:-1]))
        return self.lora_flop_counts(positions, self.in_features, self.out_features, input_grad)

    def to_base(self):
        """A plain ``Linear`` holding this layer's weight and bias (merge first to keep the update)."""
        base = Linear.__new__(Linear)
        super(Linear, base).__init__()
        base.in_features, base.out_features = self.in_features, self.out_features
        base.weight = self.weight
        base.register_parameter("bias", self.bias)
        return base

    def extra_repr(self):
        return super().extra_repr() + self.lora_repr()


class LoRAConv2d(LoRAMixin, Conv2d):
    """(N, C_in, H, W) -> (N, C_out, H', W'): a frozen ``Conv2d`` plus a rank-r update.

    A: (r, C_in, kh, kw), applied with the base's stride, padding and dilation; B: (C_out, r), a
    1x1 convolution. ``groups`` must be 1 (a grouped weight is not one matrix to factor).
    """

    def __init__(self, base, rank=4, alpha=None):
        if not isinstance(base, Conv2d):
            raise TypeError(f"LoRAConv2d wraps a Conv2d, got {type(base).__name__}")
        if base.groups != 1:
            raise ValueError(f"LoRAConv2d: groups={base.groups} is not supported; wrap convolutions with groups=1")
        super(Conv2d, self).__init__()
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
            setattr(self, name, getattr(base, name))
        self._add_lora(base, rank, alpha, (rank, base.in_channels) + tuple(base.kernel_size),
                       (base.out_channels, rank))

    def forward(self, x):
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        if self.merged:
            return y
        h = F.conv2d(x, self.lora_A, None, self.stride, self.padding, self.dilation)  # (N, r, H', W')
        b = (self.lora_B * self.scaling).reshape(self.out_channels, self.rank, 1, 1)
        return y + F.conv2d(h, b)                                                    # y + s B * h (1x1)

    def flop_counts(self, input_shape, output_shape, input_grad):
        positions = int(numpy.prod(output_shape)) // self.out_channels
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        return self.lora_flop_counts(positions, fan_in, self.out_channels, input_grad)

    def to_base(self):
        """A plain ``Conv2d`` holding this layer's weight and bias (merge first to keep the update)."""
        base = Conv2d.__new__(Conv2d)
        super(Conv2d, base).__init__()
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
            setattr(base, name, getattr(self, name))
        base.weight = self.weight
        base.register_parameter("bias", self.bias)
        return base

    def extra_repr(self):
        return super().extra_repr() + self.lora_repr()


def lora_layer_for(module, rank=4, alpha=None):
    """The LoRA layer for ``module`` (a Linear or a Conv2d); a clear error for anything else."""
    if isinstance(module, LoRAMixin):
        raise ValueError(f"{type(module).__name__} already has a LoRA update; unwrap it first")
    if isinstance(module, Conv2d):
        return LoRAConv2d(module, rank, alpha)
    if isinstance(module, Linear):
        return LoRALinear(module, rank, alpha)
    raise TypeError(f"LoRA wraps Linear and Conv2d layers, not {type(module).__name__}")
