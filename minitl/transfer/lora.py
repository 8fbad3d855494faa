"""Put LoRA updates into a model and take them out again, by layer name.

    from minitl.transfer import lora
    wrapped = lora.wrap(model, rank=4, alpha=4, targets=["backbone.block3.0", "backbone.block2.*"])
    lora.trainable_names(model)        # ['backbone.block2.0.lora_A', ...]: the new parameters
    lora.merge(model)                  # fold every update into its weight (inference at the base cost)
    lora.merged_state_dict(model)      # the plain model's keys, updates folded in: loads into SmallCNN
    lora.unwrap(model, merge=True)     # plain Linear / Conv2d layers again, same names

``wrap`` replaces each target (a ``Linear`` or ``Conv2d``) in its parent by a LoRA layer
(``nn.LoRALinear`` / ``nn.LoRAConv2d``) that holds the *same* weight and bias Parameters under the
same names, so every key of the original ``state_dict`` is still there (a pretrained file still
loads strictly once the ``lora_*`` keys are allowed for) and the model computes the same numbers
bit for bit until training moves ``B``. ``targets``: layer names or shell patterns (``fnmatch``);
None means every Conv2d and Linear except the head.
"""
import fnmatch

from ..core.layers import Conv2d, Linear
from ..nn.layers.lora import LoRAMixin, lora_layer_for


def _replace(model, name, module):
    parent_name, _, child = name.rpartition(".")
    model.get_submodule(parent_name).add_module(child, module)  # keeps the child's place in its parent


def default_targets(model):
    """Every Conv2d and Linear layer's name except the head's (a transfer head is trained in full)."""
    head = getattr(model, "head_path", None)
    return [name for name, m in model.named_modules()
            if isinstance(m, (Conv2d, Linear)) and not isinstance(m, LoRAMixin) and name != head]


def resolve_targets(model, targets):
    """Layer names matching ``targets`` (names or patterns), in model order; errors name what did not match."""
    if targets is None:
        return default_targets(model)
    if isinstance(targets, str):
        targets = [targets]
    layers = [name for name, m in model.named_modules() if isinstance(m, (Conv2d, Linear))]
    chosen = []
    for pattern in targets:
        found = [name for name in layers if fnmatch.fnmatchcase(name, pattern)]
        if not found:
            raise KeyError(f"lora.wrap: no Linear or Conv2d layer matches {pattern!r}; layers: {', '.join(layers)}")
        chosen += [name for name in found if name not in chosen]
    return [name for name in layers if name in chosen]


def wrap(model, rank=4, alpha=None, targets=None):
    """Replace each target layer by its LoRA layer (see the module); returns ``model`` (changed in place)."""
    names = resolve_targets(model, targets)
    if not names:
        raise ValueError(f"lora.wrap: {type(model).__name__} has no Linear or Conv2d layer to wrap")
    for name in names:
        _replace(model, name, lora_layer_for(model.get_submodule(name), rank, alpha))
    return model


def lora_layers(model):
    """``[(name, layer)]`` of the model's LoRA layers, in model order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, LoRAMixin)]


def trainable_names(model):
    """The parameter names LoRA added (``...lora_A``, ``...lora_B``)."""
    return [f"{name}.{key}" for name, _ in lora_layers(model) for key in ("lora_A", "lora_B")]


def merge(model):
    """``merge()`` every LoRA layer: each weight becomes ``W + s B A``; returns ``model``."""
    for _, layer in lora_layers(model):
        layer.merge()
    return model


def unmerge(model):
    """``unmerge()`` every LoRA layer: each weight is ``W`` again (to float32 round-off); returns ``model``."""
    for _, layer in lora_layers(model):
        layer.unmerge()
    return model


def unwrap(model, merge=False):
    """Put plain Linear / Conv2d layers back (the same weight Parameters, trainable again).

    ``merge=True`` folds each update in first (the model keeps what it learned); ``merge=False``
    drops the updates (a merged layer is unmerged first, so the original weights come back).
    """
    for name, layer in lora_layers(model):
        layer.merge() if merge else layer.unmerge()
        base = layer.to_base()
        base.unfreeze()
        _replace(model, name, base)
    return model


def merged_state_dict(model):
    """The state_dict of the model as if unwrapped with ``merge=True``: the original keys only,
    each LoRA layer's weight with its update folded in; ``model`` itself is not changed."""
    state = model.state_dict()
    for name, layer in lora_layers(model):
        for key in ("lora_A", "lora_B", "lora_merged"):
            del state[f"{name}.{key}"]
        if not layer.merged:
            state[f"{name}.weight"] = layer.weight.data + layer.delta_weight()
    return state
