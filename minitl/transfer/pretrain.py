"""Pretraining: make the shipped weights, ``weights/smallcnn-fashion-<split>.npz``, from scratch.

    minitl pretrain --split paired          (or: minitl.transfer.pretrain("paired"))
    minitl pretrain --split digits --subset mini   every class of a whole data set (``minitl.data.DOMAINS``)

trains SmallCNN on the *source* split of a transfer pair (``minitl.data.TRANSFER_PAIRS``) of the
full Fashion-MNIST (or on a whole data set, the source of transfer across data sets), measures its
source test accuracy, and publishes file + manifest entry through
``minitl.weights.publish``. The recipe is plain on purpose (what a student would write first):
SGD, momentum 0.9, weight decay 5e-4 on every parameter, lr 0.05 annealed by a cosine per step,
5 epochs of batch 128, inputs normalised with the source set's own mean and std (stored in the
manifest: fine-tuning must use the same numbers). Everything random follows from ``seed``.
"""
import time

from .. import weights as registry
from ..core.optim import SGD
from ..core.random import manual_seed
from ..data.domains import DOMAINS, load_domain
from ..data.fashion_mnist import FASHION_MNIST_CLASSES
from ..data.loader import DataLoader
from ..data.splits import FASHION_SPLITS, TRANSFER_PAIRS, fashion_split
from ..data.transforms import Normalize
from ..models.smallcnn import SmallCNN
from ..optim.lr_scheduler import CosineAnnealingLR
from ..train.loop import evaluate, fit
from ..version import __version__


def weights_name(split):
    """``"fashion-paired"`` for split ``"paired"``, ``"digits"`` for the data set ``"digits"``: the name
    ``SmallCNN(weights=...)`` takes."""
    return split if split in DOMAINS else f"fashion-{split}"


def _classes(split, train_set):
    """The manifest's class fields: a split's source and target Fashion-MNIST classes, or a whole data
    set's classes (its target is another data set: ``minitl compare --source digits --target fashion``)."""
    if split in DOMAINS:
        return {"source_classes": list(range(len(train_set.classes))), "source_class_names": list(train_set.classes),
                "target_classes": [], "target_class_names": [],
                "target": f"another data set (minitl compare --source {split} --target NAME)"}
    source, target = (FASHION_SPLITS[name] for name in TRANSFER_PAIRS[split])
    return {"source_classes": list(source), "source_class_names": [FASHION_MNIST_CLASSES[c] for c in source],
            "target_classes": list(target), "target_class_names": [FASHION_MNIST_CLASSES[c] for c in target]}


def pretrain(split="paired", epochs=5, batch_size=128, lr=0.05, momentum=0.9, weight_decay=5e-4, seed=0,
             steps=None, subset=None, root=None, where=None, verbose=None, stream=None):
    """Train SmallCNN on the source split of ``split`` and publish it; returns the manifest entry.

    ``steps`` cuts the run short (tests); ``subset="mini"`` uses the bundled sample (tests, demos);
    ``where`` is the weights folder (default: ``weights/``). The entry records everything needed
    to repeat the run, and the source test accuracy it reached.
    """
    if split not in TRANSFER_PAIRS and split not in DOMAINS:
        raise KeyError(f"pretrain: no transfer pair or data set named {split!r}; known: "
                       f"{sorted(TRANSFER_PAIRS) + list(DOMAINS)}")
    if split in DOMAINS:  # a whole data set, every class: the source for transfer across data sets
        train_set = load_domain(split, train=True, subset=subset, root=root)
        test_set = load_domain(split, train=False, subset=subset, root=root)
    else:
        train_set = fashion_split(TRANSFER_PAIRS[split][0], train=True, subset=subset, root=root)
        test_set = fashion_split(TRANSFER_PAIRS[split][0], train=False, subset=subset, root=root)
    normalize = Normalize.from_dataset(train_set)
    train_set.transform = test_set.transform = normalize
    manual_seed(seed)
    model = SmallCNN(num_classes=len(train_set.classes))
    optimizer = SGD(model, lr=lr, momentum=momentum, weight_decay=weight_decay)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed)
    total_steps = min(epochs * len(loader), steps) if steps else epochs * len(loader)
    scheduler = CosineAnnealingLR(optimizer, T_max=total_steps)
    started = time.perf_counter()
    history = fit(model, optimizer, loader, epochs=epochs, steps=steps, scheduler=scheduler,
                  scheduler_interval="step", verbose=verbose, stream=stream)
    train_seconds = time.perf_counter() - started
    scores = evaluate(model, DataLoader(test_set, batch_size=500))

    record = {
        "file": f"smallcnn-{weights_name(split)}.npz", "architecture": "SmallCNN", "arguments": dict(model.config),
        "dataset": train_set.name.split("/")[0], "split": split, **_classes(split, train_set),
        "normalization": normalize.as_dict(),
        "recipe": {"epochs": epochs, "steps": history.steps[-1]["step"] if history.steps else 0,
                   "batch_size": batch_size, "optimizer": "SGD", "lr": lr,
                   "lr_schedule": f"cosine per step over {total_steps} steps", "momentum": momentum,
                   "weight_decay": weight_decay, "seed": seed, "minitl_version": __version__,
                   "train_images": len(train_set), "train_seconds": round(train_seconds, 1)},
        "source_test_accuracy": round(float(scores["accuracy"]), 4), "source_test_images": scores["samples"],
        "final_train_loss": round(float(history.epochs[-1]["train_loss"]), 4),
    }
    return registry.publish(model, weights_name(split), record, where)
