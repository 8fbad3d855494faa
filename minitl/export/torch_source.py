"""A minitl model written out as PyTorch source: the ``model.py`` of ``minitl export torch``.

The generated file has two parts a student can read side by side with the minitl model:

* a class for each composite minitl module (``SmallCNN``, ``BasicBlock``, ``LoRALinear``, ...)
  whose ``__init__`` takes its children by name and whose ``forward`` is minitl's, written in torch;
* ``build_model()``, the tree itself: one torch expression per layer, children under the same
  names, so ``torch_model.state_dict()`` has exactly the keys of ``minitl_model.state_dict()``.

Each minitl class has an entry in ``LAYERS`` (a converter registry, looked up by the exact class: a
subclass may have changed ``forward``). A layer with no entry is refused with ``ExportError``
naming its place in the model, never approximated. Nothing here imports torch: it writes text.

Talks to: ``nn/layers`` and ``models`` (the classes it knows), ``transfer`` (``Adapter``).
"""
from .. import nn as act  # the activations are read as act.ReLU, act.Tanh, ... (the public nn namespace)
from ..core.layers import (
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    Sequential,
)
from ..models.lenet import LeNet5
from ..models.mlp import MLP
from ..models.resnet import BasicBlock, ResNet
from ..models.smallcnn import SmallCNN
from ..nn.layers.avg_pool import AvgPool2d
from ..nn.layers.containers import ModuleDict, ModuleList
from ..nn.layers.conv1d import Conv1d
from ..nn.layers.conv_transpose import ConvTranspose2d
from ..nn.layers.embedding import Embedding
from ..nn.layers.layer_norm import GroupNorm, LayerNorm
from ..nn.layers.lora import LoRAConv2d, LoRALinear
from ..nn.layers.upsample import Upsample
from .errors import ExportError

INDENT = "    "


def _short(value):
    """``(3, 3)`` -> ``3``: torch accepts one number for a square kernel, and it reads better."""
    if isinstance(value, (tuple, list)) and len(value) > 0 and all(v == value[0] for v in value):
        return value[0]
    return tuple(value) if isinstance(value, list) else value


def call(name, positional=(), keywords=(), defaults=None):
    """``nn.Conv2d(1, 32, kernel_size=3, padding=1)``: keywords equal to torch's default are left out."""
    defaults = defaults or {}
    parts = [repr(_short(v)) for v in positional]
    for key, value in keywords:
        value = _short(value)
        if key in defaults and defaults[key] == value:
            continue
        parts.append(f"{key}={value!r}")
    return f"{name}({', '.join(parts)})"


# ----- leaf layers: one torch expression each -----

def _linear(m):
    return call("nn.Linear", (m.in_features, m.out_features), [("bias", m.bias is not None)], {"bias": True})


def _conv(name):
    def convert(m):
        keywords = [("kernel_size", m.kernel_size), ("stride", m.stride), ("padding", m.padding)]
        if name == "nn.ConvTranspose2d":
            keywords.append(("output_padding", m.output_padding))
        keywords += [("dilation", m.dilation), ("groups", m.groups), ("bias", m.bias is not None)]
        return call(name, (m.in_channels, m.out_channels), keywords,
                    {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True})
    return convert


def _batch_norm(name):
    def convert(m):
        return call(name, (m.num_features,), [("eps", m.eps), ("momentum", m.momentum), ("affine", m.affine),
                                              ("track_running_stats", m.track_running_stats)],
                    {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True})
    return convert


def _max_pool(m):
    return call("nn.MaxPool2d", (m.kernel_size,), [("stride", m.stride), ("padding", m.padding),
                                                   ("dilation", m.dilation), ("return_indices", m.return_indices),
                                                   ("ceil_mode", m.ceil_mode)],
                {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False})


def _attributes(name, names, defaults=None):
    """A layer whose torch constructor takes the minitl layer's attributes of the same names."""
    return lambda m: call(name, (), [(key, getattr(m, key)) for key in names], defaults or {})


def _no_settings(name):
    return lambda m: f"{name}()"


def _layer_norm(m):
    return call("nn.LayerNorm", (list(m.normalized_shape),),
                [("eps", m.eps), ("elementwise_affine", m.weight is not None)],
                {"eps": 1e-5, "elementwise_affine": True})


def _group_norm(m):
    return call("nn.GroupNorm", (m.num_groups, m.num_channels), [("eps", m.eps), ("affine", m.affine)],
                {"eps": 1e-5, "affine": True})


def _embedding(m):
    return call("nn.Embedding", (m.num_embeddings, m.embedding_dim),
                [("padding_idx", m.padding_idx), ("max_norm", m.max_norm), ("norm_type", m.norm_type),
                 ("scale_grad_by_freq", m.scale_grad_by_freq), ("sparse", m.sparse)],
                {"padding_idx": None, "max_norm": None, "norm_type": 2.0, "scale_grad_by_freq": False,
                 "sparse": False})


def _lora(name, base):
    def convert(m):
        return f"{name}({base(m)}, rank={m.rank}, alpha={m.alpha!r})"
    return convert


LEAVES = {
    Linear: _linear,
    Conv2d: _conv("nn.Conv2d"), Conv1d: _conv("nn.Conv1d"), ConvTranspose2d: _conv("nn.ConvTranspose2d"),
    BatchNorm1d: _batch_norm("nn.BatchNorm1d"), BatchNorm2d: _batch_norm("nn.BatchNorm2d"),
    LayerNorm: _layer_norm, GroupNorm: _group_norm, Embedding: _embedding,
    MaxPool2d: _max_pool,
    AvgPool2d: _attributes("nn.AvgPool2d", ("kernel_size", "stride", "padding"), {"stride": None, "padding": 0}),
    AdaptiveAvgPool2d: _attributes("nn.AdaptiveAvgPool2d", ("output_size",)),
    Flatten: _attributes("nn.Flatten", ("start_dim", "end_dim"), {"start_dim": 1, "end_dim": -1}),
    Identity: _no_settings("nn.Identity"),
    Dropout: _attributes("nn.Dropout", ("p",), {"p": 0.5}),
    Upsample: _attributes("nn.Upsample", ("size", "scale_factor", "mode", "align_corners"),
                          {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None}),
    act.ReLU: _no_settings("nn.ReLU"), act.Tanh: _no_settings("nn.Tanh"), act.Sigmoid: _no_settings("nn.Sigmoid"),
    act.SiLU: _no_settings("nn.SiLU"), act.Mish: _no_settings("nn.Mish"), act.ReLU6: _no_settings("nn.ReLU6"),
    act.Hardsigmoid: _no_settings("nn.Hardsigmoid"), act.Hardswish: _no_settings("nn.Hardswish"),
    act.SELU: _no_settings("nn.SELU"), act.LogSigmoid: _no_settings("nn.LogSigmoid"),
    act.LeakyReLU: _attributes("nn.LeakyReLU", ("negative_slope",), {"negative_slope": 0.01}),
    act.ELU: _attributes("nn.ELU", ("alpha",), {"alpha": 1.0}),
    act.GELU: _attributes("nn.GELU", ("approximate",), {"approximate": "none"}),
    act.Softmax: _attributes("nn.Softmax", ("dim",)),
    act.LogSoftmax: _attributes("nn.LogSoftmax", ("dim",)),
    act.Hardtanh: _attributes("nn.Hardtanh", ("min_val", "max_val"), {"min_val": -1.0, "max_val": 1.0}),
    LoRALinear: _lora("LoRALinear", _linear),
    LoRAConv2d: _lora("LoRAConv2d", _conv("nn.Conv2d")),
}

# ----- composite modules: a class whose forward is minitl's, its children passed in by name -----

LORA_CLASSES = '''
class LoRALinear(nn.Module):
    """minitl.nn.LoRALinear: a frozen Linear plus s * (x A^T) B^T, s = alpha / rank.

    Same names as minitl: weight, bias, lora_A (rank, in), lora_B (out, rank) and the buffer
    lora_merged (1 when the update is already folded into weight: then forward is the base layer's).
    """

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        self.weight = base.weight
        self.bias = base.bias
        self.lora_A = nn.Parameter(torch.zeros(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.register_buffer("lora_merged", torch.tensor(0, dtype=torch.int64))

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if int(self.lora_merged):
            return y
        return y + F.linear(F.linear(x, self.lora_A), self.lora_B * self.scaling)


class LoRAConv2d(nn.Module):
    """minitl.nn.LoRAConv2d: a frozen Conv2d plus a rank-r update (A: r-channel conv, B: 1x1 conv)."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        self.stride, self.padding, self.dilation = base.stride, base.padding, base.dilation
        self.out_channels = base.out_channels
        self.weight = base.weight
        self.bias = base.bias
        self.lora_A = nn.Parameter(torch.zeros(rank, base.in_channels, *base.kernel_size))
        self.lora_B = nn.Parameter(torch.zeros(base.out_channels, rank))
        self.register_buffer("lora_merged", torch.tensor(0, dtype=torch.int64))

    def forward(self, x):
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        if int(self.lora_merged):
            return y
        h = F.conv2d(x, self.lora_A, None, self.stride, self.padding, self.dilation)
        b = (self.lora_B * self.scaling).reshape(self.out_channels, self.rank, 1, 1)
        return y + F.conv2d(h, b)
'''


def _resnet_forward(m):
    stages = [f"x = self.layer{i + 1}(x)" for i in range(m.stages)]
    return ["x = self.maxpool(self.relu(self.bn1(self.conv1(x))))", *stages,
            "return self.fc(torch.flatten(self.avgpool(x), 1))"]


# class -> (docstring, forward body lines given the instance)
COMPOSITES = {
    SmallCNN: ("minitl.models.SmallCNN: three conv blocks and a linear head.",
               lambda m: ["return self.head(self.backbone(x))"]),
    MLP: ("minitl.models.MLP: Flatten, the hidden blocks, the head.",
          lambda m: ["return self.head(self.hidden(self.flatten(x)))"]),
    LeNet5: ("minitl.models.LeNet5: features, then classifier.",
             lambda m: ["return self.classifier(self.features(x))"]),
    ResNet: ("minitl.models.ResNet: stem, stages of BasicBlocks, global average pool, fc.", _resnet_forward),
    BasicBlock: ("minitl.models.resnet.BasicBlock: two 3x3 convolutions and a skip connection.",
                 lambda m: ["out = self.relu(self.bn1(self.conv1(x)))",
                            "out = self.bn2(self.conv2(out))",
                            "shortcut = x if self.downsample is None else self.downsample(x)",
                            "return self.relu(out + shortcut)"]),
}


def _supported():
    names = sorted({cls.__name__ for cls in list(LEAVES) + list(COMPOSITES)} | {"Sequential", "ModuleList",
                                                                              "ModuleDict"})
    return ", ".join(names)


class _Writer:
    """Walks the model once: the expression of every module, and the composite classes it met."""

    def __init__(self):
        self.classes = {}  # class name -> its docstring, forward and children, in the order first met

    def expression(self, module, name, depth):
        kind = type(module)
        if kind in LEAVES:
            self._refuse_extra_children(module, name)
            return LEAVES[kind](module)
        if kind in (Sequential, ModuleList, ModuleDict):
            return self._container(module, name, depth)
        if kind in COMPOSITES:
            return self._composite(module, name, depth)
        where = f"layer {name!r}" if name else "the model itself"
        raise ExportError(f"{where} is a {kind.__module__}.{kind.__name__}, which minitl cannot write as PyTorch: "
                          f"its forward is not one that the exporter knows. Supported layers: {_supported()}. "
                          "What to do: build the model from these layers (a custom block can be an nn.Sequential), "
                          "or replace that layer before exporting")

    def _refuse_extra_children(self, module, name):
        if module._modules:
            extra = ", ".join(module._modules)
            raise ExportError(f"layer {name!r} ({type(module).__name__}) has child modules ({extra}) that its "
                              "forward does not use in the exporter's copy; remove them before exporting")

    def _children(self, module, name, depth):
        """``[(child name, expression)]`` in registration order (torch's state_dict order)."""
        return [(child, "None" if sub is None else self.expression(sub, f"{name}.{child}" if name else child,
                                                                   depth + 1))
                for child, sub in module._modules.items()]

    def _container(self, module, name, depth):
        children = self._children(module, name, depth)
        pad, inner = INDENT * depth, INDENT * (depth + 1)
        if isinstance(module, ModuleDict):
            items = "".join(f"{inner}{child!r}: {text},\n" for child, text in children)
            return f"nn.ModuleDict({{\n{items}{pad}}})"
        numbered = [child for child, _ in children] == [str(i) for i in range(len(children))]
        torch_name = "nn.Sequential" if isinstance(module, Sequential) else "nn.ModuleList"
        if numbered:
            items = "".join(f"{inner}{text},\n" for _, text in children)
            wrapped = f"[\n{items}{pad}]" if torch_name == "nn.ModuleList" else f"\n{items}{pad}"
            return f"{torch_name}({wrapped})" if children else f"{torch_name}()"
        items = "".join(f"{inner}({child!r}, {text}),\n" for child, text in children)
        return f"{torch_name}(OrderedDict([\n{items}{pad}]))"

    def _composite(self, module, name, depth):
        kind = type(module)
        if module._parameters or any(v is not None for v in module._buffers.values()):
            own = ", ".join(list(module._parameters) + list(module._buffers))
            raise ExportError(f"layer {name!r} ({kind.__name__}) holds parameters of its own ({own}); the exporter "
                              "writes composite layers whose weights all live in their children")
        children = self._children(module, name, depth)
        self._define(kind, module, [child for child, _ in children], name)
        pad = INDENT * (depth + 1)
        items = "".join(f"{pad}{child}={text},\n" for child, text in children)
        return f"{kind.__name__}(\n{items}{INDENT * depth})"

    def _define(self, kind, module, child_names, name):
        """Remember the class: its children (a child some instances lack, like ``downsample``, defaults to None)."""
        docstring, forward = COMPOSITES[kind]
        body = forward(module)
        known = self.classes.setdefault(kind.__name__, {"doc": docstring, "body": body, "children": [],
                                                          "optional": set(), "seen": 0})
        if known["body"] != body:
            raise ExportError(f"layer {name!r} is a {kind.__name__} whose forward differs from another "
                              f"{kind.__name__} in the model; the exporter writes one class per name")
        if known["seen"]:
            known["optional"] |= set(known["children"]) ^ set(child_names)
        for child in child_names:
            if child not in known["children"]:
                known["children"].append(child)
        known["seen"] += 1

    def class_sources(self):
        sources = []
        for class_name, known in self.classes.items():
            arguments = ", ".join(f"{c}=None" if c in known["optional"] else c for c in known["children"])
            assigns = "\n".join(f"{INDENT * 2}self.{child} = {child}" for child in known["children"])
            body = "\n".join(f"{INDENT * 2}{line}" for line in known["body"])
            sources.append(f"class {class_name}(nn.Module):\n{INDENT}\"\"\"{known['doc']}\"\"\"\n\n"
                           f"{INDENT}def __init__(self, {arguments}):\n{INDENT * 2}super().__init__()\n"
                           f"{assigns}\n\n{INDENT}def forward(self, x):\n{body}\n")
        return sources


def model_source(model, title="") -> str:
    """The text of ``model.py`` for ``model``: imports, the classes it needs, and ``build_model()``.

    Raises ``ExportError`` naming the first layer that has no PyTorch form.
    """
    writer = _Writer()
    tree = writer.expression(model, "", 1)
    uses_lora = any(isinstance(m, (LoRALinear, LoRAConv2d)) for m in model.modules())
    classes = ([LORA_CLASSES] if uses_lora else []) + writer.class_sources()
    imports = [line for line, needed in (("from collections import OrderedDict\n", "OrderedDict(" in tree),
                                         ("import torch", any("torch." in text for text in classes)),
                                         ("import torch.nn.functional as F", uses_lora),
                                         ("from torch import nn", True)) if needed]
    parts = [f'"""{title or "A minitl model written as PyTorch"} (generated by `minitl export torch`).\n\n'
             "Module and parameter names are minitl's, so load_state_dict matches key for key:\n\n"
             "    model = build_model()\n"
             "    model.load_state_dict(torch.load(\"weights.pt\", weights_only=True))\n"
             '"""', "\n".join(imports), *classes,
             f"def build_model():\n{INDENT}\"\"\"The model with freshly initialised weights; load "
             f"weights.pt (or model.safetensors) into it.\"\"\"\n{INDENT}return {tree}\n"]
    return "\n\n".join(part.strip("\n") + "\n" for part in parts)
