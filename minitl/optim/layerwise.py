"""Layer-wise learning rates and weight decay for fine-tuning, expressed on the model itself.

Two ideas from transfer learning, both written as ``lr_scale`` on the model's blocks (so
``model.summary()`` shows them and the optimizer reads them at every step):

* ``discriminative_lr(model, base_lr, factor=2.6)`` — ULMFiT (Howard & Ruder 2018): the head trains
  at ``base_lr``, each earlier block at the rate of the block after it divided by ``factor``.
  Early layers hold generic features (edges, textures) that need little change.
* ``layer_decay(model, decay=0.75)`` — the same shape with a multiplier, as timm / BEiT write it:
  block ``i`` of ``n`` gets ``decay ** (n - 1 - i)``.

Both use ``model.blocks()`` (ordered input -> head; SmallCNN: three conv blocks, then the head) and
overwrite each block's ``lr_scale``. A scale set on the model itself still multiplies all of them.

``param_groups(model, weight_decay, no_decay=("bias", "norm"))`` builds the usual two param groups so
biases and normalisation weights are not decayed: shrinking a BatchNorm scale or a bias toward 0
is not the regularisation weight decay is meant to be.
"""
from ..table import Table, TableReport


class BlockScales(TableReport):
    """What ``discriminative_lr`` / ``layer_decay`` set: one row per block (name, type, lr_scale, lr)."""

    def __init__(self, rows):
        self.rows = rows

    @property
    def scales(self):
        """The ``lr_scale`` of each block, input to head."""
        return [row["lr_scale"] for row in self.rows]

    def table(self) -> Table:
        rows = [(r["name"], r["type"], f"{r['lr_scale']:.4g}", "-" if r["lr"] is None else f"{r['lr']:.3g}")
                for r in self.rows]
        return Table(("block", "type", "lr_scale", "lr"), rows)


def set_lr_scale(block, scale):
    """``block.lr_scale = scale``, also for a view block (ResNet's ``stem``), which owns nothing.

    The optimizer multiplies the scales of a parameter's *ancestors*; a view is nobody's ancestor,
    so its scale would be ignored. For a view the scale goes on each of its children instead.
    """
    children = list(block.children())
    if children and all(child.__dict__.get("_parent") is None or child.__dict__["_parent"]() is not block
                        for child in children):
        for child in children:
            child.lr_scale = scale
    else:
        block.lr_scale = scale


def _set_block_scales(model, scales, base_lr):
    blocks = model.blocks()
    names = {id(m): name for name, m in model.named_modules()}
    rows = []
    for block, scale in zip(blocks, scales):
        set_lr_scale(block, scale)
        rows.append({"name": names.get(id(block), type(block).__name__), "type": type(block).__name__,
                     "lr_scale": scale, "lr": None if base_lr is None else base_lr * scale})
    return BlockScales(rows)


def discriminative_lr(model, base_lr=None, factor=2.6):
    """Set ``block.lr_scale = factor ** -(n - 1 - i)`` for the ``n`` blocks of ``model.blocks()``.

    The last block (the head) keeps 1.0; ``base_lr`` (the optimizer's lr) only fills the table's lr
    column. Returns a printable ``BlockScales``. SmallCNN with factor 2.6: 0.057, 0.148, 0.385, 1.
    """
    if factor <= 0:
        raise ValueError(f"discriminative_lr: factor must be > 0, got {factor}")
    n = len(model.blocks())
    return _set_block_scales(model, [factor ** -(n - 1 - i) for i in range(n)], base_lr)


def layer_decay(model, decay=0.75, base_lr=None):
    """Set ``block.lr_scale = decay ** (n - 1 - i)``: the head 1.0, each earlier block ``decay`` times less."""
    if not 0 < decay <= 1:
        raise ValueError(f"layer_decay: decay must be in (0, 1], got {decay}")
    n = len(model.blocks())
    return _set_block_scales(model, [decay ** (n - 1 - i) for i in range(n)], base_lr)


def _is_no_decay(name, module, patterns):
    for pattern in patterns:
        if pattern == "bias" and name.rsplit(".", 1)[-1] == "bias":
            return True
        if pattern == "norm" and module is not None and "norm" in type(module).__name__.lower():
            return True
        if pattern not in ("bias", "norm") and pattern in name:
            return True
    return False


def param_groups(model, weight_decay, no_decay=("bias", "norm"), **options):
    """Two param groups: ``weight_decay`` for weights, 0 for parameters matching ``no_decay``.

    ``no_decay`` entries: ``"bias"`` (any parameter named ``*.bias``), ``"norm"`` (every parameter of a
    BatchNorm / LayerNorm), any other string (a substring of the dotted name). ``options`` (e.g. ``lr``)
    go into both groups. Frozen parameters are included: the optimizer skips them until unfrozen.
    Each group carries a ``"name"`` ("decay" / "no_decay"). Use: ``AdamW(param_groups(model, 0.05), lr=1e-3)``.
    """
    decay, plain = [], []
    for name, p in model.named_parameters():
        (plain if _is_no_decay(name, getattr(p, "owner", None), no_decay) else decay).append(p)
    groups = [{"name": "decay", "params": decay, "weight_decay": weight_decay, **options},
              {"name": "no_decay", "params": plain, "weight_decay": 0.0, **options}]
    return [g for g in groups if g["params"]]
