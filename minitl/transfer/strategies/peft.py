"""Parameter-efficient fine-tuning: a few new parameters *inside* the frozen network, plus the head.

    LoRA(rank=4, alpha=None, targets=None)   a low-rank update B @ A beside each chosen weight
                                             (``minitl.transfer.lora``; default: every conv and
                                             linear layer except the head)
    Adapters(bottleneck=8, blocks=None)      a 1x1-conv residual adapter after each chosen block
                                             (``minitl.transfer.adapter``; default: every backbone block)
    Prompt(pad=2, image_size=28)             a learned border on the input image, nothing else
                                             (``minitl.transfer.prompt``)

All three start as the identity (B = 0, the adapter's ``up`` = 0, the border = 0), so before the
first step the model computes exactly what the pretrained one did. ``apply`` first takes out
whatever an earlier PEFT strategy put in (a clean slate, like the freezing strategies), then
freezes everything except the new parameters and the head. Describe and ``count_flops`` show the
point: the trainable fraction is small, the backward pass is not (it runs through the frozen
layers above the first new parameter).
"""
from ..adapter import add_adapter, remove_adapters
from ..lora import lora_layers, trainable_names, unwrap, wrap
from ..prompt import VisualPrompt, add_prompt, remove_prompt
from .base import Strategy, block_names
from .freezing import only


def strip(model):
    """Remove LoRA updates (dropped, not merged), adapters and a prompt: the model as it was loaded."""
    unwrap(model, merge=False)
    remove_adapters(model)
    remove_prompt(model)
    return model


def added_names(model, part):
    """Parameter names under each ``<block>.<part>`` child (``adapter`` / ``prompt``)."""
    return [name for name, _ in model.named_parameters() if f".{part}." in f".{name}"]


def _trainable_note(model, names):
    added = sum(int(p.data.size) for name, p in model.named_parameters() if name in set(names))
    total = sum(int(p.data.size) for p in model.parameters())
    return f"{added:,} new parameters ({added / total:.2%} of {total:,}) plus the head"


class LoRA(Strategy):
    """Frozen weights, a trainable rank-``rank`` update ``(alpha/rank) B A`` in each target layer, and the head."""

    def __init__(self, rank=4, alpha=None, targets=None):
        self.rank, self.alpha = int(rank), None if alpha is None else float(alpha)
        self.targets = targets if targets is None or isinstance(targets, str) else list(targets)

    def options(self):
        return {"rank": self.rank, "alpha": self.alpha, "targets": self.targets}

    def apply(self, model):
        wrap(strip(model), rank=self.rank, alpha=self.alpha, targets=self.targets)
        return only(model, trainable_names(model))

    def notes(self, model):
        layers = lora_layers(model)
        if not layers:
            return []
        scaling = layers[0][1].scaling
        first = (f"LoRA rank {self.rank}, scaling alpha/rank = {scaling:g}, in {len(layers)} layers: "
                 f"{_trainable_note(model, trainable_names(model))}")
        return [first, "B starts at 0: the model is exactly the pretrained one; "
                       "minitl.transfer.lora.merge(model) folds the update in for inference"]


class Adapters(Strategy):
    """Frozen backbone, a residual 1x1-conv adapter (bottleneck ``r``) after each chosen block, and the head."""

    def __init__(self, bottleneck=8, blocks=None):
        self.bottleneck = int(bottleneck)
        self.blocks = None if blocks is None else [int(b) for b in ([blocks] if isinstance(blocks, int) else blocks)]

    def options(self):
        return {"bottleneck": self.bottleneck, "blocks": self.blocks}

    def apply(self, model):
        strip(model)
        backbone = model.blocks()[:-1]
        chosen = range(len(backbone)) if self.blocks is None else self.blocks
        for index in chosen:
            if not -len(backbone) <= index < len(backbone):
                raise IndexError(f"Adapters(blocks={self.blocks}): {type(model).__name__} has backbone blocks "
                                 f"0..{len(backbone) - 1}")
            add_adapter(backbone[index], self.bottleneck)
        return only(model, added_names(model, "adapter"))

    def notes(self, model):
        names = added_names(model, "adapter")
        where = [name for name, block in zip(block_names(model), model.blocks()) if "adapter" in block._modules]
        return [f"adapters (bottleneck {self.bottleneck}) after {', '.join(where)}: {_trainable_note(model, names)}",
                "each starts as the identity (its up-projection is 0)"]


class Prompt(Strategy):
    """Everything frozen except a learned ``pad``-pixel border added to the input, and the head."""

    def __init__(self, pad=2, image_size=28):
        self.pad, self.image_size = int(pad), image_size

    def options(self):
        return {"pad": self.pad, "image_size": self.image_size}

    def apply(self, model):
        strip(model)
        add_prompt(model, VisualPrompt(self.pad, self.image_size, channels=getattr(model, "in_channels", 1)))
        return only(model, added_names(model, "prompt"))

    def notes(self, model):
        added = _trainable_note(model, added_names(model, "prompt"))
        return [f"a {self.pad}-pixel learned border on the input: {added}",
                "its gradient must reach the input: backward runs through every frozen layer"]
