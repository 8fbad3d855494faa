"""The ``Strategy`` interface every transfer-learning recipe follows, and the table ``describe`` prints.

A strategy never trains through a private shortcut: ``apply(model)`` only sets what the user can
print (``frozen``, ``lr_scale``, a new head's weights), and everything after is the ordinary engine
(``SGD`` reading those flags at each step, ``fit``). The four calls a protocol runner makes::

    model = strategy.apply(model)          set the model up (returns the model to train: the same
                                           one, except LinearProbe, which builds a probe model)
    print(strategy.describe(model, lr))    per block: frozen?, effective lr, trainable, backward?
    optimizer = strategy.optimizer(model, lr, momentum=0.9, weight_decay=0.0)
    history = strategy.fit(model, train_loader, epochs=5, lr=0.01)   the whole run, all phases

``fit`` builds the optimizer and a per-step cosine schedule itself, and hands ``fit`` the
strategy's ``callbacks()`` (GradualUnfreeze) and ``regularizer()`` (L2SP). LPFT overrides it with
two phases, Imprint with zero steps.
"""
from ...core.module import effective_lr_scale
from ...core.optim import SGD
from ...nn.summary import frozen_column
from ...optim.lr_scheduler import CosineAnnealingLR
from ...table import Table, TableReport
from ...train.loop import fit


def block_names(model):
    """A readable name per ``model.blocks()`` entry: its name in the model, or its top-level parts joined."""
    names = {id(module): name for name, module in model.named_modules()}
    tops = {id(module): name for name, module in model.named_children()}
    result = []
    for index, block in enumerate(model.blocks()):
        if id(block) in names and names[id(block)]:
            result.append(names[id(block)])
            continue
        parts = [tops[id(child)] for _, child in block.named_children() if id(child) in tops]
        result.append("+".join(parts) if parts else f"block{index}")
    return result


def parameter_plan(model):
    """``{name: {"trainable": bool, "lr_scale": float}}`` for every parameter: what the optimizer will do."""
    return {name: {"trainable": bool(p.requires_grad), "lr_scale": effective_lr_scale(p)}
            for name, p in model.named_parameters()}


def batchnorm_mode(block):
    """"batch stats" / "running stats (frozen)" / "-" for a block's BatchNorm layers (effect 4 of frozen)."""
    norms = [m for m in block.modules() if hasattr(m, "running_mean") and hasattr(m, "track_running_stats")]
    if not norms:
        return "-"
    modes = {"running stats (frozen)" if m.frozen else "batch stats" for m in norms}
    return modes.pop() if len(modes) == 1 else "mixed"


class Description(TableReport):
    """What ``describe`` returns: ``rows`` (one dict per block), ``parameters`` (per parameter), ``str`` a table.

    Row keys: ``block``, ``frozen`` ("yes", "no", "partly", or "no grad": ``requires_grad`` off without
    freezing, so a BatchNorm there still uses batch statistics; ``nn.summary.frozen_column``),
    ``lr_scale`` (effective, of its trainable parameters; None when none), ``lr`` (``lr * lr_scale`` when
    an lr was given), ``trainable`` (count), ``total`` (count), ``backward`` ("weights+input", "weights",
    "input only", "no"), ``batchnorm``.
    """

    def __init__(self, title, rows, parameters, notes=()):
        self.title, self.rows, self.parameters, self.notes = title, rows, parameters, list(notes)

    @property
    def trainable(self):
        return sum(row["trainable"] for row in self.rows)

    @property
    def trainable_names(self):
        return [name for name, plan in self.parameters.items() if plan["trainable"]]

    def table(self) -> Table:
        def scale(value):
            return "-" if value is None else f"{value:.4g}"

        body = [(r["block"], r["frozen"], scale(r["lr_scale"]), scale(r["lr"]), f"{r['trainable']:,}",
                 f"{r['total']:,}", r["backward"], r["batchnorm"]) for r in self.rows]
        total = sum(r["total"] for r in self.rows)
        footer = [f"trainable parameters: {self.trainable:,} of {total:,}", *self.notes]
        return Table(("block", "frozen", "lr_scale", "lr", "trainable", "params", "backward runs", "BatchNorm"), body,
                     footer, caption=self.title)


def describe_model(model, title, lr=None, notes=()):
    """The ``Description`` of ``model`` as it is set up now (frozen flags and lr_scales read live)."""
    plan = parameter_plan(model)
    names = {id(p): name for name, p in model.named_parameters()}
    rows, below_trainable = [], False
    for name, block in zip(block_names(model), model.blocks()):
        params = list(block.parameters())
        trainable = [p for p in params if p.requires_grad]
        scales = sorted({plan[names[id(p)]]["lr_scale"] for p in trainable})
        # A block's backward runs when it holds a trainable parameter (weight gradients) or a block
        # below it does (the gradient must pass through it on the way down: input gradients).
        backward = ("weights+input" if trainable and below_trainable else "weights" if trainable
                    else "input only" if below_trainable else "no")
        rows.append({"block": name, "frozen": frozen_column(params) or "no",
                     "lr_scale": (scales[0] if len(scales) == 1 else max(scales)) if scales else None,
                     "lr": (lr * max(scales)) if (lr is not None and scales) else None,
                     "trainable": sum(int(p.data.size) for p in trainable),
                     "total": sum(int(p.data.size) for p in params),
                     "backward": backward, "batchnorm": batchnorm_mode(block)})
        below_trainable = below_trainable or bool(trainable)
    return Description(title, rows, plan, notes)


def cosine_per_step(optimizer, total_steps):
    """The schedule every strategy trains with: a cosine from ``lr`` to 0 over ``total_steps`` steps."""
    return CosineAnnealingLR(optimizer, T_max=max(int(total_steps), 1))


class Strategy:
    """Base class: everything trainable at one rate. Subclasses override ``apply`` (and more)."""

    name = None  # the registry name, set by ``register_strategy``

    def options(self):
        """The constructor arguments, for titles and run records."""
        return {}

    def title(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"

    def apply(self, model):
        """Set ``model`` up for this strategy (frozen flags, lr_scales); return the model to train."""
        return model

    def notes(self, model):
        """Extra lines for ``describe`` (what changes during training, what was skipped and why)."""
        return []

    def describe(self, model, lr=None):
        """Per block: frozen or not, effective lr_scale (and lr), trainable parameters, backward runs."""
        return describe_model(model, self.title(), lr, self.notes(model))

    def optimizer(self, model, lr, momentum=0.9, weight_decay=0.0):
        """SGD over all of ``model``'s parameters: frozen ones are skipped at each step (effect 3)."""
        return SGD(model, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def callbacks(self):
        """Callbacks ``fit`` must run (GradualUnfreeze adds one)."""
        return []

    def regularizer(self, model):
        """A callable added to the loss (L2SP), or None."""
        return None

    def fit(self, model, train_loader, epochs, lr, momentum=0.9, weight_decay=0.0, val_loader=None,
            callbacks=(), verbose=False, stream=None):
        """Train the applied ``model`` for ``epochs`` with a per-step cosine schedule; returns the History."""
        optimizer = self.optimizer(model, lr, momentum=momentum, weight_decay=weight_decay)
        scheduler = cosine_per_step(optimizer, epochs * len(train_loader))
        return fit(model, optimizer, train_loader, epochs=epochs, val_loader=val_loader, scheduler=scheduler,
                   scheduler_interval="step", callbacks=[*self.callbacks(), *callbacks], verbose=verbose,
                   stream=stream, regularizer=self.regularizer(model))

    def __repr__(self):
        return self.title()
