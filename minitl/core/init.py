"""Weight initialisation, in place, seeded through ``minitl.manual_seed``.

Fan-in / fan-out of a weight: for Linear (out, in) they are ``in`` and ``out``; for Conv2d
(out, in/groups, kh, kw) they are ``in/groups*kh*kw`` and ``out*kh*kw``. Kaiming scales the
spread by ``1/sqrt(fan)`` so activations keep their variance from layer to layer.
"""
import math

import numpy

from .backend import default_device, device_of, random_array
from .module import Parameter


def fans(tensor):
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan-in and fan-out need a tensor with at least 2 axes, got shape {shape}")
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def fill_random(tensor, kind, low, high):
    tensor.data[...] = random_array(kind, tensor.shape, tensor.dtype, device_of(tensor.data), low, high)
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    return fill_random(tensor, "uniform", a, b)


def add_weight_and_bias(module, weight_shape, bias, dtype, device):
    """Give ``module`` a ``weight`` Parameter of ``weight_shape`` and a ``bias`` (or None) of size
    ``weight_shape[0]``, initialised as PyTorch's Linear and Conv2d are. Used by both layers."""
    device = device or default_device()
    module.weight = Parameter(numpy.zeros(weight_shape), dtype=dtype, device=device)
    if bias:
        module.bias = Parameter(numpy.zeros(weight_shape[0]), dtype=dtype, device=device)
    else:
        module.register_parameter("bias", None)
    default_layer_init_(module.weight, module.bias)


def add_affine(module, shape, affine, dtype, device):
    """Give a normalisation layer its ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None for both
    when ``affine`` is False: it starts as the identity on the normalised values. Used by BatchNorm,
    LayerNorm and GroupNorm."""
    for name, start in (("weight", numpy.ones), ("bias", numpy.zeros)):
        module.register_parameter(name, Parameter(start(shape), dtype=dtype, device=device) if affine else None)


def default_layer_init_(weight, bias=None):
    """PyTorch's default for Linear and Conv2d: weight and bias both uniform in about +-1/sqrt(fan_in).

    PyTorch writes the weight's as ``kaiming_uniform_(a=sqrt 5)``: U(-b, b) with b = gain * sqrt(3 / fan_in)
    and the leaky-ReLU gain sqrt(2 / (1 + a^2)) = sqrt(1/3), so b = 1/sqrt(fan_in); computed the same way
    here, so the bits match (``nn/init.py`` has the general scheme).
    """
    fan_in, _ = fans(weight)
    bound = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2)) * math.sqrt(3.0 / fan_in)
    uniform_(weight, -bound, bound)
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
