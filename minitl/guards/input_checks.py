"""What a model is fed: checks that turn a classroom mistake into a message saying what to do.

``check_model_input`` runs when a top-level model is called (``Module.__call__`` of a module with
no parent): a (nested) Python list instead of a Tensor is refused with the conversion to write,
and integer images on the 0-255 scale get one warning per model (the network was trained on
[0, 1] or normalised pixels, so it would silently see values 255 times too large); so do float
images far outside the pixel statistics that shipped weights bring (``model.input_normalization``,
set by ``weights.load_named``): the same mistake with ``x.float()`` and no ``Normalize``.
It plugs into the ``root_call`` seam (``core/seams.py``). ``check_conv_channels`` runs at every
``Conv2d`` call (the ``layer_input`` seam): an input of the wrong shape or number of channels is refused
with the layer's path in the model and the likely fix (a missing batch axis, channels last, RGB into a
grey model), instead of ``F.conv2d``'s message about groups.
"""
import warnings

import numpy

from ..core import seams
from ..core.module import root_module
from ..core.tensor import Tensor


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
    stats = model.__dict__.get("input_normalization")
    if stats and not model.__dict__.get("_warned_unnormalised"):
        for value in args:
            if isinstance(value, Tensor) and value.dtype.kind == "f" and type(value.data) is numpy.ndarray:
                _warn_if_unnormalised(model, value, stats)


def _warn_if_unnormalised(model, images, stats):
    """Warn once per model when float images lie far outside what ``Normalize(mean, std)`` of [0, 1] pixels gives.

    Normalised pixels reach at most max((1 - mean) / std), about 3; raw 0-255 floats reach 255. The
    check reads the batch's maximum, so it looks only at NumPy arrays: on the GPU it would make the host
    wait on the device at every call.
    """
    mean, std = numpy.atleast_1d(stats["mean"]), numpy.atleast_1d(stats["std"])
    highest_normalised = float(numpy.max((1.0 - mean) / std))
    top = float(images.data.max()) if images.data.size else 0.0
    if top <= max(10.0, 3.0 * highest_normalised):
        return
    object.__setattr__(model, "_warned_unnormalised", True)  # once per model
    mean_text, std_text = [round(float(m), 4) for m in mean], [round(float(s), 4) for s in std]
    warnings.warn(f"{type(model).__name__}'s pretrained weights expect pixels in [0, 1] normalised with mean "
                  f"{mean_text} and std {std_text} (at most about {highest_normalised:.1f}), but this batch reaches "
                  f"{top:g}: un-normalised 0-255 pixels? Scale to [0, 1] (x / 255, or ToTensor()) and add "
                  f"Normalize(mean={mean_text}, std={std_text}) to the data pipeline (minitl.data.Normalize)",
                  UserWarning, stacklevel=4)


def layer_path(module) -> str:
    """``backbone.block1.0 (Conv2d)``: where ``module`` sits in its model, or just its class name."""
    root = root_module(module)
    for name, candidate in root.named_modules():
        if candidate is module and name:
            return f"{name} ({type(module).__name__})"
    return type(module).__name__


def _three_axes_hint(layer, x):
    """One (C, H, W) image needs a batch axis at 0; (N, H, W) grey images need a channel axis at 1."""
    if x.shape[0] == layer.in_channels:
        return f"; add the batch axis with x.unsqueeze(0) (one image of {layer.in_channels} channel(s))"
    if layer.in_channels == 1:
        return f"; a batch of {x.shape[0]} grey images (N, H, W): add the channel axis with x.unsqueeze(1), " \
               f"giving ({x.shape[0]}, 1, {x.shape[1]}, {x.shape[2]})"
    return ""


def check_conv_channels(layer, x):
    """Raise a ValueError naming ``layer`` when ``x`` has the wrong number of channels, with the likely fix."""
    if x.ndim != 4:
        raise ValueError(f"{layer_path(layer)} expects a batch of images (N, {layer.in_channels}, H, W), got shape "
                         f"{tuple(x.shape)}" + (_three_axes_hint(layer, x) if x.ndim == 3 else ""))
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


seams.plug("root_call", check_model_input)  # Module.__call__ of a root module calls it
seams.plug("layer_input", check_conv_channels)  # Conv2d.forward calls it
