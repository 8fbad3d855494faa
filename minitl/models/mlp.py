"""MLP: fully connected layers, the simplest model to freeze and fine-tune.

``MLP([784, 256, 128, 10])`` is Flatten, then hidden blocks Linear-activation(-Dropout) for each
hidden size, then the head Linear(128 -> 10). Blocks for ``freeze_to``: each hidden block, the head.
"""
from ..core.layers import Dropout, Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh
from ..nn.layers.activation import GELU
from .base import TransferModel, build

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU}


class MLP(TransferModel):
    """(N, *) -> (N, sizes[-1]); the input is flattened from axis 1 on.

    ``weights``: None (random init), a shipped name from ``minitl.weights.list()`` made for MLP
    (none ships yet), or a weight-file path (a head of another shape stays fresh, reported).
    """

    def __init__(self, sizes, activation="relu", dropout=0.0, weights=None):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose one of {sorted(ACTIVATIONS)}")
        self.sizes, self.num_classes = list(sizes), sizes[-1]
        self.config = {"sizes": list(sizes), "activation": activation, "dropout": dropout}
        self.flatten = Flatten()
        hidden = []
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers = [Linear(n_in, n_out), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(Dropout(dropout))
            hidden.append(Sequential(*layers))
        self.hidden = Sequential(*hidden)
        self.head = Linear(sizes[-2], sizes[-1])
        build(self, weights)

    @property
    def backbone(self):
        """Flatten and the hidden blocks, as a view (the layers stay owned by the model)."""
        return Sequential._view([("flatten", self.flatten), ("hidden", self.hidden)])

    def blocks(self):
        return [*self.hidden, self.head]

    def forward(self, x):
        return self.head(self.hidden(self.flatten(x)))
