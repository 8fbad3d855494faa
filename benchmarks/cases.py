"""The benchmark's workloads: each case written once for minitl and once for PyTorch, side by side.

``build(case, framework, device)`` returns ``(step, sync)``: ``step()`` runs one step of the case and
``sync()`` waits for the device (a no-op on the CPU), so a timer around both measures the work.
A worker process imports only its own framework: minitl's import changes the process's allocator
(``minitl/fast/allocator.py``), which must not flatter or handicap PyTorch. The PyTorch models are the
torch twins of the test suite (``tests/torch_twins.py``), with the same layers and parameter names.

``graph_bytes(framework, device, frozen)`` measures case 7: the bytes the recorded graph holds after a
SmallCNN forward at batch 64 (saved activations and other arrays kept for backward; parameters and
the input batch, which exist anyway, are not counted).
"""
import os
import sys

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

# case name -> (what it times, batch size); the order is the order of the report
CASES = {
    "mlp_b64": "1. MLP 784-512-256-10 training step, batch 64",
    "mlp_b256": "1. MLP 784-512-256-10 training step, batch 256",
    "smallcnn_b64": "2. SmallCNN training step, batch 64",
    "smallcnn_b256": "2. SmallCNN training step, batch 256",
    "smallcnn_infer_b256": "2. SmallCNN inference, batch 256",
    "smallcnn_frozen_b64": "3. SmallCNN, backbone frozen (uncached), step, batch 64",
    "smallcnn_freeze_to2_b64": "3. SmallCNN, freeze_to(2), step, batch 64",
    "head_cached_b64": "4. head-only step on cached features, batch 64",
    "resnet18_infer_b8": "5. resnet18 inference, batch 8, 3x224x224",
    "resnet18_finetune_b8": "5. resnet18 step, all but layer4 + fc frozen, batch 8",
    "chain_1000": "6. autograd: chain of 1,000 ops on shape (8,), fwd + bwd",
    "conv_1to32_b64": "conv 1x28x28 -> 32, 3x3 pad 1, fwd + bwd, batch 64",
    "conv_32to64_b64": "conv 32x14x14 -> 64, 3x3 pad 1, fwd + bwd, batch 64",
    "maxpool_32x28_b64": "max_pool 2x2 of 32x28x28, fwd + bwd, batch 64",
    "maxpool_64x14_b64": "max_pool 2x2 of 64x14x14, fwd + bwd, batch 64",
}
QUICK = ["mlp_b64", "smallcnn_b64", "smallcnn_frozen_b64", "smallcnn_freeze_to2_b64", "head_cached_b64",
         "chain_1000", "conv_1to32_b64", "conv_32to64_b64", "maxpool_32x28_b64", "maxpool_64x14_b64"]
# the targets (ratio minitl / PyTorch in the same run) of issue 28, and issue 11's for the chain of ops;
# case 3's frozen step (<= 0.35 of the own full step) and case 8's compare (<= 1.25) are judged in run.py's report
TARGETS = {"mlp_b64": 1.2, "smallcnn_b64": 1.5, "smallcnn_b256": 1.5, "smallcnn_infer_b256": 1.3,
           "resnet18_infer_b8": 1.5, "conv_32to64_b64": 2.0, "chain_1000": 1.5}
CHAIN_OPS = 1000


def _chain(x):
    """Case 6, the same code for both frameworks: 1,000 tiny ops on ``x`` and back (the sum is one op more)."""
    def chain():
        x.grad = None
        y = x
        for _ in range(CHAIN_OPS // 2):
            y = y * 1.0001
            y = y + 0.5
        y.sum().backward()
    return chain


# op cases absorbed from the former bench_conv.py: (input channels, image size, output channels or None for a pool)
OP_SHAPES = {"conv_1to32_b64": (1, 28, 32), "conv_32to64_b64": (32, 14, 64), "maxpool_32x28_b64": (32, 28, None),
             "maxpool_64x14_b64": (64, 14, None)}


def _data(case):
    """The same inputs for both frameworks: (x, labels, number of classes), NumPy float32 / int64."""
    rng = numpy.random.default_rng(0)
    batch = int(case.rsplit("_b", 1)[1]) if "_b" in case else 8
    if case.startswith("resnet18"):
        shape, classes = (batch, 3, 224, 224), 10
    elif case.startswith("head"):
        shape, classes = (batch, 128), 10
    else:
        shape, classes = (batch, 1, 28, 28), 10
    return rng.standard_normal(shape).astype(numpy.float32), numpy.arange(batch) % classes, classes


# ----------------------------------------------------------------------------------------------- minitl
def _minitl_sync(device):
    if device == "cuda":
        from minitl import backend  # noqa: PLC0415
        cupy = backend.require_gpu()
        return cupy.cuda.get_current_stream().synchronize
    return lambda: None


def _minitl_model(case, classes):
    from minitl.models import MLP, SmallCNN, resnet18  # noqa: PLC0415
    if case.startswith("mlp"):
        return MLP([784, 512, 256, classes])
    if case.startswith("resnet18"):
        model = resnet18(num_classes=classes)
        model.freeze_to(4)  # blocks: stem, layer1, layer2, layer3 frozen; layer4 and fc train
        return model
    model = SmallCNN(classes)
    if "frozen" in case:
        model.backbone.freeze()
    elif "freeze_to2" in case:
        model.freeze_to(2)
    return model


def _minitl_build(case, device):
    import minitl  # noqa: PLC0415
    from minitl.nn import functional as F  # noqa: PLC0415
    sync = _minitl_sync(device)
    x_np, y_np, classes = _data(case)
    if case == "chain_1000":
        return _chain(minitl.tensor(numpy.ones(8, numpy.float32), requires_grad=True, device=device)), sync
    if case.startswith(("conv", "maxpool")):
        return _minitl_op_case(case, device), sync
    x, y = minitl.tensor(x_np, device=device), minitl.tensor(y_np, device=device)
    model = minitl.nn.Linear(128, classes) if case.startswith("head") else _minitl_model(case, classes)
    model.to(device)
    if "infer" in case:
        model.eval()

        def infer():
            with minitl.no_grad():
                model(x)
        return infer, sync
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return train_step, sync


def _minitl_op_case(case, device):
    import minitl  # noqa: PLC0415
    from minitl.core.ops.conv import conv2d  # noqa: PLC0415
    from minitl.core.ops.pool import max_pool2d  # noqa: PLC0415
    rng = numpy.random.default_rng(0)
    c_in, size, c_out = OP_SHAPES[case]
    x = minitl.tensor(rng.standard_normal((64, c_in, size, size)), requires_grad=True, device=device)
    if c_out is None:
        def pool():
            x.grad = None
            max_pool2d(x, 2).sum().backward()
        return pool
    w = minitl.tensor(rng.standard_normal((c_out, c_in, 3, 3)) * 0.1, requires_grad=True, device=device)
    b = minitl.tensor(numpy.zeros(c_out), requires_grad=True, device=device)

    def conv():
        x.grad = w.grad = b.grad = None
        conv2d(x, w, b, padding=1).sum().backward()
    return conv


# ----------------------------------------------------------------------------------------------- PyTorch
def _torch_model(case, classes):
    from torch import nn  # noqa: PLC0415

    import torch_twins  # noqa: PLC0415 - tests/torch_twins.py, the PyTorch twins of minitl's models
    if case.startswith("mlp"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, classes))
    if case.startswith("resnet18"):
        model, trainable = torch_twins.torch_resnet18(num_classes=classes), ("layer4", "fc")
    else:
        model = torch_twins.torch_smallcnn(classes)
        trainable = {"smallcnn_frozen_b64": ("head",), "smallcnn_freeze_to2_b64": ("backbone.block3", "head")}.get(
            case, ("",))
    # minitl's frozen: no grad for the parameters, and frozen BatchNorm uses its running statistics
    for name, module in model.named_modules():
        if name and not any(name.startswith(t) or t.startswith(name + ".") for t in trainable):
            for p in module.parameters(recurse=False):
                p.requires_grad_(False)
            if isinstance(module, nn.BatchNorm2d):
                module.train(False)
    return model


def _torch_build(case, device):
    import torch  # noqa: PLC0415
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    x_np, y_np, classes = _data(case)
    if case == "chain_1000":
        return _chain(torch.ones(8, requires_grad=True, device=device)), sync
    if case.startswith(("conv", "maxpool")):
        return _torch_op_case(torch, case, device), sync
    x, y = torch.tensor(x_np, device=device), torch.tensor(y_np, device=device)
    model = torch.nn.Linear(128, classes) if case.startswith("head") else _torch_model(case, classes)
    model.to(device)
    if "infer" in case:
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)
        return infer, sync
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)

    def train_step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return train_step, sync


def _torch_op_case(torch, case, device):
    rng = numpy.random.default_rng(0)
    c_in, size, c_out = OP_SHAPES[case]
    as_torch = lambda a, grad: torch.tensor(a, dtype=torch.float32, device=device, requires_grad=grad)  # noqa: E731
    x = as_torch(rng.standard_normal((64, c_in, size, size)), True)
    if c_out is None:
        def pool():
            x.grad = None
            torch.nn.functional.max_pool2d(x, 2).sum().backward()
        return pool
    w = as_torch(rng.standard_normal((c_out, c_in, 3, 3)) * 0.1, True)
    b = as_torch(numpy.zeros(c_out), True)

    def conv():
        x.grad = w.grad = b.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=1).sum().backward()
    return conv


def build(case, framework, device):
    """``(step, sync)`` for one case in one framework (``"minitl"`` or ``"torch"``)."""
    return (_minitl_build if framework == "minitl" else _torch_build)(case, device)


# ----------------------------------------------------------------------------------------------- case 7
def _minitl_graph_bytes(device, frozen):
    import minitl  # noqa: PLC0415
    from minitl.nn import functional as F  # noqa: PLC0415
    x_np, y_np, classes = _data("smallcnn_b64")
    model = _minitl_model("smallcnn_frozen_b64" if frozen else "smallcnn_b64", classes).to(device)
    x, y = minitl.tensor(x_np, device=device), minitl.tensor(y_np, device=device)
    loss = F.cross_entropy(model(x), y)
    leaves = {id(p.data) for p in model.parameters()} | {id(x.data)}
    held, seen, stack = {}, set(), [loss.grad_fn]
    while stack:  # every array a node keeps (saved values, its inputs' data), counted once by its memory
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        values = list(vars(fn).values())
        for t in fn.inputs:  # an input that needs no gradient is only named (autograd.UnneededInput): no data
            values.append(getattr(t, "data", None))
            stack.append(t.grad_fn)
        for value in values:
            if hasattr(value, "nbytes") and hasattr(value, "base"):
                while value.base is not None and hasattr(value.base, "nbytes"):
                    value = value.base
                if id(value) not in leaves:
                    held[id(value)] = value.nbytes
    return sum(held.values())


def _torch_graph_bytes(device, frozen):
    import torch  # noqa: PLC0415
    x_np, y_np, classes = _data("smallcnn_b64")
    model = _torch_model("smallcnn_frozen_b64" if frozen else "smallcnn_b64", classes).to(device)
    x, y = torch.tensor(x_np, device=device), torch.tensor(y_np, device=device)
    leaves = {p.untyped_storage().data_ptr() for p in model.parameters()} | {x.untyped_storage().data_ptr()}
    held = {}

    def pack(t):  # every tensor autograd saves for backward, counted once by its storage
        storage = t.untyped_storage()
        if storage.data_ptr() not in leaves:
            held[storage.data_ptr()] = storage.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        torch.nn.functional.cross_entropy(model(x), y)
    return sum(held.values())


def graph_bytes(framework, device, frozen):
    """Bytes held by the graph after one SmallCNN forward, batch 64: full fine-tune or frozen backbone."""
    return (_minitl_graph_bytes if framework == "minitl" else _torch_graph_bytes)(device, frozen)
