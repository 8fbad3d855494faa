"""``to_torch(model, out)``: a minitl model, its weights and its fine-tuning recipe, as a PyTorch project.

    minitl.export.to_torch(model, "to_torch/", optimizer=optimizer, scheduler=scheduler,
                           data=minitl.export.fashion_mnist_data(classes=[5, 6, 7, 8, 9], mean=[0.286], std=[0.353]))

writes into ``out/``:

    model.py            build_model(): the same modules under the same names, written in torch
    weights.pt          the state dict, as torch.save writes it (torch.load(..., weights_only=True))
    model.safetensors   the same arrays as safetensors (no pickle at all)
    recipe.json         frozen parameters and BatchNorms, param groups with their effective lr, schedule, data
    finetune.py         continue fine-tuning in PyTorch with that recipe (one process)
    train_ddp.py        the same under torchrun with DistributedDataParallel (gloo on CPU, NCCL on GPU)

Nothing is written unless the whole model and recipe can be expressed in torch (``ExportError``
names the first layer or schedule that cannot), and every file is written atomically.
Talks to: ``torch_source.py`` (model.py), ``recipe.py``, ``io`` (the weight writers), ``atomic``.
"""
import json
import os
from importlib import resources

from ..atomic import atomic_write
from ..core.optim import SGD
from ..io.safetensors import save_safetensors
from ..io.torch_writer import save_torch
from .recipe import build_recipe
from .torch_source import model_source

SCRIPTS = ("finetune.py", "train_ddp.py")
DEFAULT_LR, DEFAULT_MOMENTUM = 0.01, 0.9


def fashion_mnist_data(classes=None, mean=None, std=None, root=None) -> dict:
    """The data part of a recipe for the Fashion-MNIST IDX files: ``classes`` kept and relabelled 0..k-1."""
    return {"kind": "fashion-mnist", "root": None if root is None else os.fspath(root),
            "classes": None if classes is None else [int(c) for c in classes],
            "mean": None if mean is None else [float(m) for m in mean],
            "std": None if std is None else [float(s) for s in std]}


def image_folder_data(root, grayscale=True, size=28, mean=None, std=None) -> dict:
    """The data part of a recipe for an ImageFolder (one sub-folder per class, ``train/`` and ``test/`` if any)."""
    return {"kind": "image-folder", "root": os.fspath(root), "grayscale": bool(grayscale), "size": size,
            "mean": None if mean is None else [float(m) for m in mean],
            "std": None if std is None else [float(s) for s in std]}


def _write_text(path, text) -> None:
    with atomic_write(path) as file:
        file.write(text.encode("utf-8"))


def script_text(name) -> str:
    """The text of one generated script (``finetune.py``, ``train_ddp.py``), shipped beside this module."""
    return resources.files(__package__).joinpath("templates", name + ".tmpl").read_text(encoding="utf-8")


def to_torch(model, out, optimizer=None, scheduler=None, *, scheduler_interval="epoch", data=None, epochs=1,
             batch_size=64, seed=0) -> dict:
    """Write ``model`` and its recipe as a PyTorch project in the folder ``out``; return ``{file: path}``.

    ``optimizer`` (a minitl SGD, Adam or AdamW; default ``SGD(lr=0.01, momentum=0.9)``) and
    ``scheduler`` give the recipe's hyper-parameters; frozen blocks and ``lr_scale`` are read from
    the model as they are now. ``data``: ``fashion_mnist_data(...)`` or ``image_folder_data(...)``.
    """
    source = model_source(model, f"{type(model).__name__} from minitl")
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=DEFAULT_LR, momentum=DEFAULT_MOMENTUM, warn_unknown=False)
    training = {"epochs": int(epochs), "batch_size": int(batch_size), "seed": int(seed), "loss": "cross_entropy"}
    recipe = build_recipe(model, optimizer, scheduler, scheduler_interval, training, data)
    os.makedirs(out, exist_ok=True)
    paths = {name: os.path.join(out, name) for name in ("model.py", "weights.pt", "model.safetensors",
                                                        "recipe.json", *SCRIPTS)}
    _write_text(paths["model.py"], source)
    save_torch(model, paths["weights.pt"])
    save_safetensors(model, paths["model.safetensors"], metadata={"format": "pt"})
    _write_text(paths["recipe.json"], json.dumps(recipe, indent=1) + "\n")
    for name in SCRIPTS:
        _write_text(paths[name], script_text(name))
    return paths
