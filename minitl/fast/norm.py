"""Batch norm's fast twin: the same values and gradients as ``core/ops/norm.py``'s ``BatchNorm``, with fewer passes.

* the per-channel sums (the mean, the variance, and in backward the sums of the gradient and of the gradient times
  x_hat) are each one ``einsum``, which sums the product as it forms it instead of writing it out first;
* in training the output is (x - mean) * (w / sigma) + b, one product with a per-channel factor, and x_hat itself is
  never written out: backward folds 1 / sigma into its per-channel sums, and builds the input's gradient in
  place in one new array.

Fixed statistics (eval, or a frozen BatchNorm) run the reference's code. ``tests/test_fast_paths.py`` holds the
two equal.
"""
from ..core import seams
from ..core.backend import get_array_module
from ..core.ops.norm import BatchNorm


def _channel_sum(*factors):
    """Per-channel sum of the product of ``factors`` (arrays of one shape (N, C, *)) over every axis but 1.

    One ``einsum``: the product is summed as it is formed, with no temporary of the input's size
    (``(a * b).sum(axes)`` writes a * b out first). Shaped (1, C, 1, ...) to broadcast against the input.
    """
    ndim = factors[0].ndim
    letters = "nc" + "hwdefg"[:ndim - 2]
    total = get_array_module(factors[0]).einsum(",".join([letters] * len(factors)) + "->c", *factors)
    return total.reshape((1, -1) + (1,) * (ndim - 2))


class FastBatchNorm(BatchNorm):
    # as BatchNorm: y = gamma x_hat + beta per channel; the same gradients
    def statistics(self, x):
        if not self.training:
            return super().statistics(x)
        # mean and biased variance (divide by the count, as the normalisation does), one einsum each
        count = x.size // x.shape[1]
        mean = _channel_sum(x) / count
        centred = x - mean
        var = _channel_sum(centred, centred) / count
        self.update_running(mean, var, count)
        return mean, centred, var, True

    def batch_output(self, centred, weight, bias):
        # y = w (x - mean) inv_std + b = (x - mean) * scale + b, scale = w inv_std per channel: one product
        self.centred = centred  # x_hat = centred * inv_std is never written out; backward folds inv_std in
        y = centred * (self.inv_std if weight is None else weight * self.inv_std)
        if bias is not None:
            y += bias
        return y

    def backward(self, grad):
        # dw = sum(grad x_hat) = inv_std sum(grad (x - mean)), db = sum(grad), per channel ;
        # dx = scale (grad - db / M - x_hat dw / M)   (_normalized_backward with w's per-channel sums, M values each)
        if not self.from_batch:
            return super().backward(grad)
        needs = self.needs_input_grad
        sum_g = _channel_sum(grad)
        sum_g_x_hat = _channel_sum(grad, self.centred) * self.inv_std if needs[0] or needs[1] else None
        gx = None
        if needs[0]:
            count = grad.size // sum_g.size
            # = scale ((grad - db / M) - (x - mean) (inv_std dw / M)), in place in one new array
            gx = self.centred * (self.inv_std * sum_g_x_hat / count)
            get_array_module(grad).subtract(grad, gx, out=gx)
            gx -= sum_g / count
            gx *= self.inv_std if self.weight is None else self.weight * self.inv_std
        gw = sum_g_x_hat.reshape(-1) if needs[1] else None
        gb = sum_g.reshape(-1) if needs[2] else None
        return gx, gw, gb


seams.register_fast_path(BatchNorm, FastBatchNorm)
