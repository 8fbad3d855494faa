"""A model's state dict: every parameter and buffer under its dotted name, and loading one back.

``named_tensors(model)`` walks the tree in definition order and, per module, lists its parameters
then its buffers: ``features.0.weight, features.0.bias, features.1.running_mean, ...``, PyTorch's
key order, so a file written by either framework lines up key for key. ``state_dict(model)`` is the
same with each tensor's array. Notice: a tied tensor (a decoder sharing the encoder's weight)
appears under each of its names, while ``named_parameters()`` lists it once; a file must fill
every name, an optimizer must step each tensor once.

Loading a state dict back (``Module.load_state_dict``, ``Module.load``) is ``minitl.io.load_into``:
names and shapes are compared first, nothing changes if anything is wrong, and a ``LoadReport``
says what happened to each key. It lives in ``minitl.io`` because a source may be any weight file
(PyTorch, safetensors, Keras, ONNX). io builds on nn, so nn never imports io: io hands its
``load_into`` to nn when it is imported (``install_loader``), and ``load`` here calls it.
"""
import collections

_loader = None  # minitl.io.load_into, installed by io/mapping.py when minitl.io is imported


def named_tensors(model):
    """``{dotted name: Tensor}`` of every parameter then buffer per module, a tied tensor under each name."""
    tensors = collections.OrderedDict()
    for module_name, module in model.named_modules():
        for registry in (module._parameters, module._buffers):
            for name, tensor in registry.items():
                if tensor is not None:
                    tensors[f"{module_name}.{name}" if module_name else name] = tensor
    return tensors


def state_dict(model):
    """``{dotted name: array}`` in ``named_tensors`` order: what a weight file of ``model`` holds."""
    return collections.OrderedDict((name, tensor.data) for name, tensor in named_tensors(model).items())


def install_loader(load_into):
    """Called by ``minitl.io`` as it is imported: ``load_into(model, source, **options)`` does every load."""
    global _loader
    _loader = load_into


def load(model, source, **options):
    """Load ``source`` (a ``{name: array}`` dict or a weight file's path) into ``model``; a ``LoadReport``."""
    if _loader is None:
        raise RuntimeError("loading weights needs minitl.io, which has not been imported: import minitl first")
    return _loader(model, source, **options)
