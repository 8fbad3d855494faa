"""Normalisation: batch norm (statistics over each channel, across the batch).

It computes x_hat = (x - mean) / sqrt(var + eps), then y = weight * x_hat + bias. The backward
is a closed form over the averaged axes, ``_normalized_backward``: because the mean and the variance
depend on every x, the gradient of one x_hat reaches all of them. Layer and group norm
(``functional/layer_norm.py``) are ``Normalize`` over other axes. A faster twin of ``BatchNorm`` (per-channel
sums as one ``einsum``, fewer temporaries) lives in ``minitl/fast/norm.py``.

In training ``batch_norm`` also updates the running statistics in place (bookkeeping, not part of the
graph); in inference mean and variance are constants, and the backward is a plain scale.
"""
from ..backend import get_array_module
from ..tensor import Function, data_of


def _normalized_backward(grad_x_hat, x_hat, inv_std, axes):
    # dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))   (means over the normalised axes)
    return inv_std * (grad_x_hat - grad_x_hat.mean(axis=axes, keepdims=True)
                      - x_hat * (grad_x_hat * x_hat).mean(axis=axes, keepdims=True))


def _centred_moments(x, axes):
    """(mean, x - mean, biased variance) over ``axes``: one centring pass, reused for the variance."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    return mean, centred, (centred * centred).mean(axis=axes, keepdims=True)  # = x.var(axis=axes), same steps


class Normalize(Function):
    # y = gamma x_hat + beta,  x_hat = (x - mu) / sigma over ``axes`` ;
    # dL/dx = (h - mean(h) - x_hat mean(h x_hat)) / sigma with h = gamma g,  dL/dgamma = sum g x_hat,  dL/dbeta = sum g
    """Shared forward/backward of batch and layer norm; subclasses choose the axes and the statistics.

    Inputs: x, then the optional weight and bias (``None`` where not given).
    ``axes``: the axes the statistics average over; ``param_shape``: how weight and bias broadcast
    against x; ``param_axes``: the axes their gradients sum over.
    """

    def __init__(self, axes, param_shape, param_axes, eps):
        self.axes, self.param_shape, self.param_axes, self.eps = axes, param_shape, param_axes, eps

    def statistics(self, x):
        """(mean, x - mean or None, var, whether they depend on x), shaped to broadcast against x."""
        return (*_centred_moments(x, self.axes), True)

    def forward(self, x, weight, bias):
        xp = get_array_module(x)
        weight = None if weight is None else weight.reshape(self.param_shape)
        bias = None if bias is None else bias.reshape(self.param_shape)
        mean, centred, var, self.from_batch = self.statistics(x)
        self.inv_std = (1 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        self.weight = weight
        if not self.from_batch:
            # fixed statistics: y = x * scale + shift, with scale = w / sqrt(var + eps), shift = b - mean * scale
            self.scale = self.inv_std if weight is None else weight * self.inv_std
            shift = -mean * self.scale if bias is None else bias - mean * self.scale
            keep = self.needs_input_grad[1]  # dw needs x_hat, rebuilt from x in backward
            self.x, self.mean = (x, mean) if keep else (None, None)
            y = x * self.scale
            y += shift.astype(y.dtype, copy=False)
            return y
        return self.batch_output(centred, weight, bias)

    def batch_output(self, centred, weight, bias):
        """y = w x_hat + b from the batch's statistics; keeps what backward needs (here x_hat itself)."""
        centred *= self.inv_std  # in place: the centred copy becomes x_hat
        self.x_hat = centred
        if weight is None:
            return centred if bias is None else centred + bias
        y = centred * weight
        if bias is not None:
            y += bias
        return y

    def backward(self, grad):
        # y = w x_hat + b ;  dw = sum(grad x_hat), db = sum(grad), dx_hat = grad w
        gx = self.input_grad(grad) if self.needs_input_grad[0] else None
        gw = gb = None
        if self.needs_input_grad[1]:
            x_hat = self.x_hat if self.from_batch else (self.x - self.mean) * self.inv_std
            gw = (grad * x_hat).sum(axis=self.param_axes)
        if self.needs_input_grad[2]:
            gb = grad.sum(axis=self.param_axes)
        return gx, gw, gb

    def input_grad(self, grad):
        if not self.from_batch:  # fixed statistics: x_hat is x shifted and scaled by constants
            return grad * self.scale
        grad_x_hat = grad if self.weight is None else grad * self.weight
        return _normalized_backward(grad_x_hat, self.x_hat, self.inv_std, self.axes)


class BatchNorm(Normalize):
    # y = gamma x_hat + beta,  x_hat = (x - mu) / sigma per channel over (N, *spatial) ;
    # dL/dx = gamma / sigma (g - mean(g) - x_hat mean(g x_hat)) with batch statistics (gamma / sigma g with the
    # running ones),  dL/dgamma = sum g x_hat,  dL/dbeta = sum g
    def __init__(self, running_mean, running_var, training, momentum, **common):
        super().__init__(**common)
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum = training, momentum

    def statistics(self, x):
        if not self.training:
            shape = self.param_shape
            return self.running_mean.reshape(shape), None, self.running_var.reshape(shape), False
        mean, centred, var = _centred_moments(x, self.axes)  # the biased variance: the one normalising
        self.update_running(mean, var, x.size // x.shape[1])
        return mean, centred, var, True

    def update_running(self, mean, var, count):
        """Move the running statistics towards this batch's by ``momentum``, in place (the module's buffers see it);
        the running variance is the unbiased estimate, var * count / (count - 1)."""
        if self.running_mean is None:
            return
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += (m * mean.reshape(-1)).astype(self.running_mean.dtype, copy=False)
        self.running_var *= 1 - m
        unbiased = var.reshape(-1) * (count / (count - 1))
        self.running_var += (m * unbiased).astype(self.running_var.dtype, copy=False)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel, as ``torch.nn.functional.batch_norm``. x: (N, C, *): (N, C), (N, C, L), (N, C, H, W).

    Every axis but the channel axis 1 is averaged over (which shapes a layer accepts is the layer's business).
    Training: use this batch's mean and (biased) variance, and move ``running_mean`` / ``running_var``
    ((C,) Tensors, or None) towards them by ``momentum``, in place. Inference: use the running statistics.
    Notice that in training one sample's output depends on the whole batch; in inference it does not.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects (N, C, *) input with a channel axis 1, got shape {tuple(x.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch_norm in inference mode (training=False) needs running_mean and running_var")
    axes = (0,) + tuple(range(2, x.ndim))
    if training and x.numel() // x.shape[1] < 2:
        raise ValueError(f"batch_norm in training mode needs more than one value per channel, got input "
                         f"shape {tuple(x.shape)}")
    param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return BatchNorm.apply(
        x, weight, bias, axes=axes, param_shape=param_shape, param_axes=axes, eps=eps, training=training,
        momentum=momentum,
        running_mean=data_of(running_mean), running_var=data_of(running_var))  # the buffers, updated in place
