"""What a model is fed: checks that turn a classroom mistake into a message saying what to do.

``check_model_input`` runs when a top-level model is called (``Module.__call__`` of a module with
no parent): a (nested) Python list instead of a Tensor is refused with the conversion to write,
and integer images on the 0-255 scale get one warning per model (the network was trained on
[0, 1] or normalised pixels, so it would silently see values 255 times too large).
``check_conv_channels`` is Conv2d's own check, naming the layer by its path in the model.
"""
import warnings

import numpy

from ..core.tensor import Tensor
from .tree import root_module


def layer_path(module) -> str:
    """``backbone.block1.0 (Conv2d)``: where ``module`` sits in its model, or just its class name."""
    root = root_module(module)
    for name, candidate in root.named_modules():
        if candidate is module and name:
            return f"{name} ({type(module).__name__})"
    return type(module).__name__


def check_model_input(model, args):
    """Refuse list inputs; warn once per model about uint8 / 0-255 integer images."""
    for value in args:
        if isinstance(value, (list, tuple)) and value and not isinstance(value[0], str):
            if all(isinstance(v, Tensor) for v in value):
                fix = "stack them into one batch first: model(minitl.stack(tensors))"
            else:
                fix = "convert it first: model(minitl.tensor(data))"
            raise TypeError(f"{type(model).__name__} was called with a Python {type(value).__name__} "
                            f"(of {type(value[0]).__name__}); a model takes a Tensor, so {fix}")
        if isinstance(value, Tensor) and value.dtype.kind in "iu" and value.ndim == 4 \
                and not model.__dict__.get("_warned_integer_images"):
            object.__setattr__(model, "_warned_integer_images", True)  # once per model: not a registered attribute
            scale = "0-255 " if value.dtype == numpy.uint8 else ""
            warnings.warn(f"{type(model).__name__} got {value.dtype} images of shape {value.shape}, pixels on the "
                          f"{scale}integer scale; models expect float pixels in [0, 1] (then normalised). "
                          "Convert with x.float() / 255 (or ToTensor() in the data pipeline)", UserWarning,
                          stacklevel=3)


def check_conv_channels(layer, x):
    """Raise a ValueError naming ``layer`` when ``x`` has the wrong number of channels, with the likely fix."""
    if x.ndim != 4:
        raise ValueError(f"{layer_path(layer)} expects a batch of images (N, {layer.in_channels}, H, W), got shape "
                         f"{tuple(x.shape)}" + ("; add the batch axis with x.unsqueeze(0)" if x.ndim == 3 else ""))
    got = x.shape[1]
    if got == layer.in_channels:
        return
    if x.shape[-1] == layer.in_channels:
        hints = ["The input looks channels-last (N, H, W, C): use x.permute(0, 3, 1, 2)"]
    else:
        hints = ["RGB images into a 1-channel model: add transforms.Grayscale() to the data pipeline"] \
            if got == 3 and layer.in_channels == 1 else []
        hints.append(f"{'or ' if hints else ''}build the model for {got}-channel input (in_channels={got})")
    raise ValueError(f"{layer_path(layer)} expects {layer.in_channels} input channel(s), got {got} "
                     f"(input shape {tuple(x.shape)}). " + "; ".join(hints))
