"""Dropout: during training, zero each element with probability p and scale the survivors by 1/(1-p).

This is *inverted* dropout: the scaling happens at training time, so the expected value of every
element is unchanged and inference needs no correction at all (dropout is then the identity).
The mask comes from ``backend.random_array``, drawn on the input's device (a GPU mask never crosses the bus),
so ``minitl.manual_seed`` makes it reproducible on each device (CPU and GPU streams differ: minitl/core/random.py).
"""
from ..core.backend import device_of, random_array
from ..core.tensor import Function


class Dropout(Function):
    # y = x * mask / (1 - p) ;  dy/dx = mask / (1 - p)   (the same mask: a dropped element gets no gradient)
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        keep = random_array("uniform", x.shape, x.dtype, device_of(x)) >= self.p  # kept with probability 1 - p
        # p == 1 drops everything; the scale is then irrelevant (and would divide by zero)
        self.scaled_mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.p) if self.p < 1 else 0.0)
        return x * self.scaled_mask

    def backward(self, grad):
        return grad * self.scaled_mask


def dropout(x, p=0.5, training=True):
    """Zero elements at random with probability ``p`` when ``training``; the identity otherwise.

    x: any shape -> same shape. Notice the survivors are multiplied by 1/(1-p), so the mean of the
    output matches the input's and nothing changes at inference.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=float(p))
