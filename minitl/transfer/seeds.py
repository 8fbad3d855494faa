"""Seeds: one run, three separate sources of randomness, each recorded in the run's result.

Which images form the few-shot target set, how the new head is initialised, and the order of the
batches change a fine-tuning result about equally (Dodge et al. 2020). Tie them to one seed and
two strategies compared on "seed 0" differ in all three at once; keep them apart and each can be
varied alone::

    seeds = Seeds(subset=0, head=1, order=2)
    train = few_shot(target, n_per_class=5, seed=seeds.subset)
    with seeded(seeds.head):
        model.replace_head(5)
    loader = DataLoader(train, batch_size=16, shuffle=True, seed=seeds.order)
    result["seeds"] = seeds.as_dict()
"""
import contextlib
import dataclasses

from ..core.random import get_rng, manual_seed


@dataclasses.dataclass(frozen=True)
class Seeds:
    """``subset`` (which target images), ``head`` (the new head's init), ``order`` (batch order)."""

    subset: int = 0
    head: int = 0
    order: int = 0

    def as_dict(self):
        return dataclasses.asdict(self)


@contextlib.contextmanager
def seeded(seed):
    """Draw from a generator seeded with ``seed`` inside the block; the global stream continues unchanged after."""
    saved = get_rng().bit_generator.state
    manual_seed(seed)
    try:
        yield
    finally:
        get_rng().bit_generator.state = saved
