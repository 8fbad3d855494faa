"""``Adapter``: a small residual bottleneck put after a pretrained block, the identity at the start.

    adapter = add_adapter(model.backbone.block2, bottleneck=8)   # runs after block2's last layer
    y = x + up(relu(down(x)))      down: 1x1 conv C -> r, up: 1x1 conv r -> C, ``up`` zero at start

(Houlsby et al. 2019; Rebuffi et al. 2017 for 1x1-conv adapters in CNNs.) With ``up`` zero, the
adapter adds exactly 0, so the adapted model computes what the pretrained one did. Only ``up``
gets a gradient in the first step (``down``'s gradient passes through ``up = 0``); after that both
learn. A student should notice: ``2 * C * r`` new parameters per block, but the gradient must
flow back through every frozen layer above the first adapter, and each adapter saves its input.

``add_adapter`` appends the adapter to a ``Sequential`` block under the name ``adapter``: the
block's other children keep their names (``backbone.block2.0.weight``), the new keys are
``backbone.block2.adapter.down.weight`` etc. On a (N, C) output (a block ending in Flatten) the
1x1 convolutions act as Linear layers.
"""
from ..core.layers import Conv2d, ReLU, Sequential
from ..core.module import Module
from ..core.ops.shape import reshape
from ..nn.init import zeros_
from .strategies.heads import output_channels


class Adapter(Module):
    """(N, C, H, W) or (N, C) -> the same shape: ``x + up(relu(down(x)))``; ``C`` read from ``block``."""

    def __init__(self, block, bottleneck=8):
        super().__init__()
        channels = block if isinstance(block, int) else output_channels(block)
        self.channels, self.bottleneck = int(channels), int(bottleneck)
        device = None if isinstance(block, int) else next(iter(block.parameters())).device
        self.down = Conv2d(self.channels, self.bottleneck, 1, device=device)
        self.relu = ReLU()
        self.up = Conv2d(self.bottleneck, self.channels, 1, device=device)
        zeros_(self.up.weight)  # the identity at the start: the residual branch adds exactly 0
        zeros_(self.up.bias)

    def forward(self, x):
        if x.ndim == 2:  # a flattened block output: a 1x1 convolution on a 1x1 image is a Linear
            return reshape(self.forward(reshape(x, x.shape[0], x.shape[1], 1, 1)), x.shape[0], x.shape[1])
        return x + self.up(self.relu(self.down(x)))

    def extra_repr(self):
        return f"channels={self.channels}, bottleneck={self.bottleneck}"


def add_adapter(block, bottleneck=8):
    """Append an ``Adapter`` named ``adapter`` to the Sequential ``block`` (replacing one already there)."""
    if not isinstance(block, Sequential):
        raise TypeError(f"add_adapter: the block is a {type(block).__name__}; an adapter goes at the end of a "
                        "Sequential block (choose one of model.blocks() that is a Sequential)")
    if "adapter" in block._modules:
        del block._modules["adapter"]
    adapter = Adapter(block, bottleneck)
    block.add_module("adapter", adapter)
    return adapter


def remove_adapters(model):
    """Take every ``adapter`` child added by ``add_adapter`` out of ``model``; returns how many."""
    found = [m for m in model.modules() if isinstance(m, Sequential) and isinstance(m._modules.get("adapter"), Adapter)]
    for block in found:
        del block._modules["adapter"]
    return len(found)
