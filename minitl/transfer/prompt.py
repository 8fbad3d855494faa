"""``VisualPrompt``: a learned border added to every input image (Bahng et al. 2022, "padding prompt").

    prompt = add_prompt(model, VisualPrompt(pad=2, image_size=28, channels=1))
    x_prompted = x + border        border: zeros inside, four learned strips of width ``pad``

Nothing inside the network changes; the task is steered only through the input pixels. The
border starts at zero, so the prompted model first computes exactly what the pretrained one did.
The counter-example a student should remember: the fewest trainable parameters of any strategy
(``2 * C * pad * (W + H - 2 * pad)``, 208 for a 28x28 grey image and pad 2), yet the gradient must
reach the input, so backward runs through every frozen layer (input gradients all the way down)
and each layer saves what its input gradient needs: a small trainable fraction is not a small cost.

``add_prompt`` puts the prompt first in the model's first block (a Sequential), under the name
``prompt``; every other key keeps its name (``backbone.block1.0.weight``), the new keys are
``backbone.block1.prompt.top`` etc.
"""
import numpy

from ..core.layers import Sequential
from ..core.module import Module, Parameter
from ..core.ops.shape import cat
from ..core.tensor import Tensor


class VisualPrompt(Module):
    """(N, C, H, W) -> (N, C, H, W): ``x + border``; parameters ``top``/``bottom`` (C, pad, W) and
    ``left``/``right`` (C, H - 2 pad, pad), zero at the start."""

    def __init__(self, pad=2, image_size=28, channels=1, device=None):
        super().__init__()
        height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if not 0 < 2 * pad < min(height, width):
            raise ValueError(f"VisualPrompt: pad={pad} must be at least 1 and leave an inside for a "
                             f"{height}x{width} image")
        self.pad, self.height, self.width, self.channels = int(pad), int(height), int(width), int(channels)
        inner = height - 2 * pad
        self.top = Parameter(numpy.zeros((channels, pad, width)), dtype=numpy.float32, device=device)
        self.bottom = Parameter(numpy.zeros((channels, pad, width)), dtype=numpy.float32, device=device)
        self.left = Parameter(numpy.zeros((channels, inner, pad)), dtype=numpy.float32, device=device)
        self.right = Parameter(numpy.zeros((channels, inner, pad)), dtype=numpy.float32, device=device)

    def border(self):
        """The (C, H, W) prompt: the four strips around a constant zero inside."""
        p = self.pad
        inside = Tensor(numpy.zeros((self.channels, self.height - 2 * p, self.width - 2 * p), self.top.dtype),
                        device=self.top.device)
        middle = cat([self.left, inside, self.right], axis=2)
        return cat([self.top, middle, self.bottom], axis=1)

    def forward(self, x):
        if tuple(x.shape[1:]) != (self.channels, self.height, self.width):
            raise ValueError(f"VisualPrompt: built for images {self.channels}x{self.height}x{self.width}, "
                             f"got input {tuple(x.shape)}; make it with image_size=/channels= of your data")
        return x + self.border()

    def extra_repr(self):
        return f"pad={self.pad}, image={self.channels}x{self.height}x{self.width}"


def first_sequential_block(model):
    """``model.blocks()[0]`` when it is a Sequential the model really runs (not a view)."""
    block = model.blocks()[0]
    in_tree = any(m is block for m in model.modules())
    if not isinstance(block, Sequential) or not in_tree:
        raise TypeError(f"add_prompt: {type(model).__name__}'s first block is not a Sequential it runs in order "
                        "(its stem is a view); the prompt goes first in such a block (SmallCNN, LeNet)")
    return block


def add_prompt(model, prompt):
    """Run ``prompt`` first in the model's first block (named ``prompt``); returns the prompt."""
    block = first_sequential_block(model)
    block._modules.pop("prompt", None)
    block.add_module("prompt", prompt.to(next(iter(block.parameters())).device))
    block._modules.move_to_end("prompt", last=False)
    return prompt


def remove_prompt(model):
    """Take a prompt added by ``add_prompt`` out again; returns it (None when there was none)."""
    block = model.blocks()[0]
    prompt = block._modules.get("prompt") if isinstance(block, Sequential) else None
    if isinstance(prompt, VisualPrompt):
        del block._modules["prompt"]
        return prompt
    return None
