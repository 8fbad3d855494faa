"""``Dropout``: randomly silence activations while training, a regulariser for small data sets."""
from .. import functional as F
from ..module import Module


class Dropout(Module):
    """Zeroes each element with probability ``p`` in training (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
