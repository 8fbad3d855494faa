"""``AvgPool2d``: the layer around ``F.avg_pool2d`` (``functional/avg_pool.py``), with max pooling's settings."""
from ...core.layers import Pool2d
from ...functional.avg_pool import avg_pool2d


class AvgPool2d(Pool2d):
    """Mean of each window (padding counts in the divisor, as PyTorch's default)."""

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)
