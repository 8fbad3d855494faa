"""The protocol every run of ``minitl compare`` follows, and the seeds that pair runs up.

    optimizer  SGD, momentum 0.9, weight decay 5e-4, lr 0.05 (cosine per step, or constant)
    budget     max(300 steps, 20 epochs) at batch min(32, number of training images)
    seeds      one integer per repeat -> three seeds of its own (``minitl.transfer.Seeds``): which target images
               (subset), the new head's initial weights (head), the order of the batches (order)

What a student should notice: for one repeat, *every* strategy sees the same images, the same
head initialisation and the same batch order, so the difference between two strategies on that
repeat is the strategy's doing, not luck. The three seeds matter about equally (Dodge et al. 2020),
so all three change from repeat to repeat, and all three are recorded in each run.

Nothing here trains: these are pure functions of the numbers, which is what lets the PyTorch twin
(``benchmarks/compare_torch.py``) replay exactly the same plan.
"""
import dataclasses
import math

import numpy

from ..data.splits import few_shot_indices
from ..transfer.seeds import Seeds

SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The training recipe shared by every strategy (a strategy may override ``lr`` / ``schedule``)."""

    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    min_steps: int = 300
    min_epochs: int = 20
    max_batch: int = 32
    schedule: str = "cosine"

    def batch_size(self, train_images: int) -> int:
        """min(32, number of training images): with 5 classes that is min(32, 5 n)."""
        return max(1, min(self.max_batch, int(train_images)))

    def epochs(self, train_images: int) -> int:
        """The budget in whole epochs: max(300 steps, 20 epochs), 300 steps rounded up to whole epochs.
        (n = 1: one batch of 5 per epoch, 300 epochs; n = 100: 16 batches per epoch, 20 epochs.)"""
        per_epoch = math.ceil(int(train_images) / self.batch_size(train_images))
        return max(self.min_epochs, math.ceil(self.min_steps / per_epoch))

    def steps(self, train_images: int) -> int:
        """The budget in optimizer steps: ``epochs`` times the batches of one epoch."""
        return self.epochs(train_images) * math.ceil(int(train_images) / self.batch_size(train_images))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def run_seeds(repeat: int, base_seed: int = 0) -> Seeds:
    """Repeat ``repeat`` (0, 1, 2, ...) -> its three seeds (``minitl.transfer.Seeds``), drawn from
    ``SeedSequence(base_seed)``: independent streams, the same for every strategy and machine."""
    words = numpy.random.SeedSequence(int(base_seed), spawn_key=(int(repeat),)).generate_state(3)
    subset, head, order = (int(w) for w in words)
    return Seeds(subset=subset, head=head, order=order)


def target_subset(labels, n_per_class: int, seeds: Seeds) -> numpy.ndarray:
    """Sorted indices of ``n_per_class`` training images of every target class (the subset seed)."""
    return few_shot_indices(labels, n_per_class, numpy.random.default_rng(seeds.subset))


def batch_plan(loader, steps: int):
    """The index arrays of the first ``steps`` batches ``loader`` yields, epoch after epoch: what
    ``fit(..., steps=steps)`` trains on. ``loader`` must be freshly built (its shuffle generator
    at its start); the PyTorch twin calls this on an identical loader to see the same batches."""
    plan = []
    while len(plan) < steps:
        plan.extend(loader.batch_indices())
    return plan[:steps]
