"""Layers that only reshape or pass their input through: ``Flatten`` and ``Identity``."""
from .. import functional as F
from ..module import Module


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): merges axes ``start_dim..end_dim``."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)


class Identity(Module):
    """Returns its input: a placeholder, e.g. a removed head."""

    def forward(self, x):
        return x
