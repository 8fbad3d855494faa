"""``fit``: training at its simplest, the last page of the spine. One step is five lines::

    optimizer.zero_grad()              forget the previous batch's gradients
    loss = loss_fn(model(x), y)        forward: records the graph, only where something is trainable
    loss.backward()                    a gradient for every parameter that requires grad
    optimizer.step()                   the update, reading frozen and lr_scale right now

and ``fit`` repeats it over the batches, epoch after epoch, the model in training mode.

``minitl.fit`` (``train/loop.py``, a wing) runs this same ``train_step`` and keeps the score around it:
a history, a progress bar, callbacks, schedulers, checkpoints, a validation pass, and a check that
the loss is finite before backward can spoil the weights. It hooks in between forward and backward
with ``before_backward``.
"""
from .ops.loss import cross_entropy


def train_step(model, optimizer, inputs, targets, loss_fn=cross_entropy, before_backward=None):
    """One optimizer step on one batch; returns ``(outputs, loss)``.

    ``before_backward(outputs, loss)``, when given, runs after the forward pass; returning False skips
    backward and the update (the full loop's NaN check does).
    """
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = loss_fn(outputs, targets)
    if before_backward is not None and before_backward(outputs, loss) is False:
        return outputs, loss
    loss.backward()
    optimizer.step()
    return outputs, loss


def fit(model, optimizer, batches, epochs=1, loss_fn=cross_entropy):
    """Train for ``epochs`` passes over ``batches`` (``(inputs, targets)`` pairs); returns each epoch's mean loss.

    ``batches`` must be iterable again for every epoch: a DataLoader or a list, not a generator.
    """
    model.train()
    means = []
    for _ in range(epochs):
        losses = [train_step(model, optimizer, x, y, loss_fn)[1].item() for x, y in batches]
        if not losses:
            raise ValueError("fit(): the batches yielded nothing; pass a DataLoader or a list of (inputs, targets)")
        means.append(sum(losses) / len(losses))
    return means
