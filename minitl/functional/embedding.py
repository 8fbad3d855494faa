"""Embedding lookup: row ``i`` of a (num_embeddings, dim) table for each integer index ``i``.

A lookup is a matrix product with one-hot vectors, done without building them. Its backward adds
each output gradient into the row it came from (``scatter_add``: a word used twice in a batch gets
both gradients); the ``padding_idx`` row gets none, so it stays as it is (zeros by default).
"""
from ..core.backend import device_of, get_array_module, scatter_add
from ..core.tensor import Function, data_of


class Embedding(Function):
    # y[...] = W[idx[...]] ;  dL/dW[r] = sum of g[...] over the positions where idx == r (none for padding_idx)
    def __init__(self, indices, padding_idx):
        self.indices, self.padding_idx = indices, padding_idx

    def forward(self, weight):
        self.weight_shape = weight.shape
        return weight[self.indices]

    def backward(self, grad):
        xp = get_array_module(grad)
        g_weight = xp.zeros(self.weight_shape, dtype=grad.dtype)
        scatter_add(g_weight, self.indices.reshape(-1), grad.reshape(-1, self.weight_shape[1]))
        if self.padding_idx is not None:
            g_weight[self.padding_idx] = 0
        return g_weight


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    """Look up rows of ``weight`` (num_embeddings, dim) by the integer ``input`` (any shape) -> input.shape + (dim,).

    Notice that the gradient only reaches the rows that were looked up: the other rows of the table
    get zeros. ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are PyTorch options minitl lacks.
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ValueError("embedding: max_norm, scale_grad_by_freq and sparse are not supported in minitl")
    indices = data_of(input, like=weight)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers (a LongTensor), got dtype {indices.dtype}; "
                        "convert with .long()")
    num = weight.shape[0]
    if device_of(indices) == "cpu" and indices.size and (indices.min() < 0 or indices.max() >= num):
        bad = int(indices.max() if indices.max() >= num else indices.min())
        raise IndexError(f"embedding: index {bad} is out of range for a table of {num} rows (0..{num - 1})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    return Embedding.apply(weight, indices=indices, padding_idx=padding_idx)
