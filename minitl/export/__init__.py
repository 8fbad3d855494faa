"""Leaving minitl: a model, its weights and its fine-tuning recipe written as a PyTorch project.

``to_torch(model, out)`` (and ``minitl export torch``) writes ``model.py`` (readable torch source,
same names), the weights (``weights.pt``, ``model.safetensors``), ``recipe.json`` and the scripts that
continue training in PyTorch: ``finetune.py`` and ``train_ddp.py`` (DistributedDataParallel).
minitl never imports torch: the generated files do.
"""
from .errors import ExportError
from .pytorch import fashion_mnist_data, image_folder_data, to_torch
from .recipe import build_recipe
from .torch_source import model_source

__all__ = ["ExportError", "build_recipe", "fashion_mnist_data", "image_folder_data", "model_source", "to_torch"]
