"""Domains: whole data sets by the short name a command line uses, for transfer *across* data sets.

    load_domain("digits", train=False, subset="mini")   MNIST's bundled test digits, 10 classes
    load_domain("fashion")                               the full Fashion-MNIST training set

Transfer within one data set splits its classes in two (``splits.py``: ``TRANSFER_PAIRS``);
transfer across domains keeps every class of both and changes the kind of picture: clothes or pen
strokes, both grey 28x28, so one SmallCNN reads both. ``subset``, ``root``, ``transform`` are the
data set's own arguments. Talks to: ``fashion_mnist.py``, ``mnist.py``.
"""
from .errors import DatasetError
from .fashion_mnist import FashionMNIST
from .mnist import MNIST

# name -> (data set class, what a student calls it); insertion order is the order help texts list them in
DOMAINS = {
    "fashion": (FashionMNIST, "Fashion-MNIST (clothes)"),
    "digits": (MNIST, "MNIST (handwritten digits)"),
}


def load_domain(name: str, train: bool = True, subset=None, root=None, transform=None):
    """The whole data set ``name`` (every class, labels as published)."""
    if name not in DOMAINS:
        raise DatasetError(f"no data set named {name!r}; known: {', '.join(DOMAINS)}.")
    dataset_class, _ = DOMAINS[name]
    return dataset_class(root=root, train=train, subset=subset, transform=transform)
