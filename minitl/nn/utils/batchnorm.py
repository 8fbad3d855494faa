"""``recalibrate_bn``: re-estimate every BatchNorm's running statistics on some data.

After fine-tuning on the target task, BatchNorm's running mean and variance describe the *target*
images. Put the source head back and measure the source task, and accuracy can collapse even when
the weights hardly moved: the statistics, not the weights, changed. Re-estimating them on source
images (a few hundred are enough) separates the two effects.

How: every BatchNorm's statistics are reset and re-accumulated as a plain average over the batches
(``momentum=None``), in training mode under ``no_grad``; nothing else changes. A frozen BatchNorm
never updates its statistics (frozen, effect 4), so frozen flags are lifted during the pass and put
back exactly (per parameter: frozen and requires_grad) afterwards, with every module's train/eval mode.
"""
from ...core.layers import _BatchNorm
from ...core.tensor import no_grad


def recalibrate_bn(model, loader, batches=None):
    """Re-estimate BatchNorm running statistics of ``model`` on ``loader`` (``(inputs, ...)`` batches).

    ``batches``: use at most this many batches (None: all). Returns the number of images seen.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    flags = [(p, p.frozen, p.requires_grad) for p in model.parameters()]
    frozen_flags = [(m, m._frozen) for m in model.modules()]
    momenta = [(m, m.momentum) for m in norms]
    seen = 0
    try:
        model.unfreeze()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches, not an exponential one
        with model.mode(training=True), no_grad():
            for index, batch in enumerate(loader):
                if batches is not None and index >= batches:
                    break
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                model(inputs)
                seen += int(inputs.shape[0])
    finally:
        for p, frozen, requires_grad in flags:
            p.frozen = frozen
            p.requires_grad = requires_grad  # a frozen one stays off; an unfrozen one may have been switched off
        for m, frozen in frozen_flags:
            object.__setattr__(m, "_frozen", frozen)
        for m, momentum in momenta:
            m.momentum = momentum
    if not seen:
        raise ValueError("recalibrate_bn: the loader yielded no batches")
    return seen
