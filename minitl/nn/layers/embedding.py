"""``Embedding``: a learnable lookup table from integer ids (words, classes, positions) to vectors."""
import numpy

from ...core.backend import default_device
from ...core.module import Module, Parameter
from .. import functional as F
from ..init import normal_


class Embedding(Module):
    """(any shape of integer ids) -> (that shape, embedding_dim); weight (num_embeddings, embedding_dim) ~ N(0, 1).

    The ``padding_idx`` row starts at zero and gets no gradient. ``Embedding.from_pretrained`` wraps
    a trained table, frozen by default: the transfer-learning use of an embedding.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None,
                 dtype=numpy.float32):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx {padding_idx} is outside the table of {num_embeddings} rows")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx if padding_idx is None or padding_idx >= 0 else padding_idx + num_embeddings
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        device = device or default_device()
        if _weight is None:
            self.weight = Parameter(numpy.zeros((num_embeddings, embedding_dim)), dtype=dtype, device=device)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, dtype=dtype, device=device)
        if _freeze:
            self.frozen = True

    def reset_parameters(self):
        normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, **options):
        """An Embedding holding ``embeddings`` (num, dim); ``freeze=True`` sets ``frozen`` (no training)."""
        num, dim = embeddings.shape
        return cls(num, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze, **options)

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
