"""The protocol's arithmetic, the seeds that pair runs, and the strategy specs of ``minitl compare``."""
import numpy
import pytest

from minitl.compare.grid import GridError, parse_sizes, parse_strategies, parse_strategy
from minitl.compare.protocol import Protocol, batch_plan, run_seeds, target_subset
from minitl.data import ArrayDataset, DataLoader


@pytest.mark.parametrize("n, batch, epochs, steps", [
    (1, 5, 300, 300),      # 5 images: one batch of 5 per epoch, 300 steps
    (5, 25, 300, 300),     # 25 images: one batch of 25
    (20, 32, 75, 300),     # 100 images: 4 batches per epoch, 300 / 4 = 75 epochs
    (7, 32, 150, 300),     # 35 images: 2 batches per epoch
    (100, 32, 20, 320),    # 500 images: 16 batches per epoch; 20 epochs = 320 steps > 300
])
def test_budget_is_max_of_300_steps_and_20_epochs(n, batch, epochs, steps):
    protocol = Protocol()
    assert protocol.batch_size(5 * n) == batch
    assert protocol.epochs(5 * n) == epochs
    assert protocol.steps(5 * n) == steps


def test_seeds_are_separate_deterministic_and_differ_between_repeats():
    first, again, second = run_seeds(0), run_seeds(0), run_seeds(1)
    assert first == again
    assert len({first.subset, first.head, first.order}) == 3
    assert first != second and first.subset != second.subset


def test_same_seed_same_images_and_batch_order():
    labels = numpy.repeat(numpy.arange(5), 40)
    seeds = run_seeds(0)
    assert numpy.array_equal(target_subset(labels, 3, seeds), target_subset(labels, 3, seeds))
    assert not numpy.array_equal(target_subset(labels, 3, seeds), target_subset(labels, 3, run_seeds(1)))
    data = ArrayDataset(numpy.zeros((15, 1, 2, 2), numpy.uint8), numpy.repeat(numpy.arange(5), 3))
    plan = batch_plan(DataLoader(data, batch_size=4, shuffle=True, seed=seeds.order), 10)
    loader = DataLoader(data, batch_size=4, shuffle=True, seed=seeds.order)
    seen = [indices for _ in range(3) for indices in loader.batch_indices()][:10]  # what fit's epochs draw
    assert len(plan) == 10 and all(numpy.array_equal(a, b) for a, b in zip(plan, seen))


def test_strategy_specs_name_registry_strategies_with_options():
    spec = parse_strategy("ft:backbone_lr_scale=1:lr=0.5:schedule=constant")
    assert (spec.name, dict(spec.options), spec.lr, spec.schedule) == ("ft", {"backbone_lr_scale": 1}, 0.5, "constant")
    assert spec.build().backbone_lr_scale == 1.0
    assert spec.learning_rate(Protocol()) == 0.5 and parse_strategy("fe").learning_rate(Protocol()) == 0.05
    assert [s.label for s in parse_strategies("scratch, fe,ft")] == ["scratch", "fe", "ft"]


@pytest.mark.parametrize("text, words", [
    ("nope", "no strategy named 'nope'"),
    ("ft:backbone_lr_scale", "key=value"),
    ("ft:schedule=linear", "schedule must be one of"),
    ("ft:lr=-1", "lr must be a positive number"),
    ("fe:backbone_lr_scale=1", "does not take these options"),
])
def test_bad_specs_are_refused_with_what_to_write(text, words):
    with pytest.raises(GridError, match=words):
        parse_strategy(text)


def test_sizes_and_repeats():
    assert parse_sizes("20,1,5") == (1, 5, 20)
    with pytest.raises(GridError, match="at least 1"):
        parse_sizes("0,5")
    with pytest.raises(GridError, match="twice"):
        parse_strategies("fe,fe")


def test_plain_names_say_each_registry_string_in_words():
    from minitl.compare.grid import TOO_HIGH, plain_name  # noqa: PLC0415

    assert plain_name(TOO_HIGH, 0.05, too_high=True) == "fine-tune, one lr for all layers, lr 0.5 constant (too high)"
    assert plain_name("ft") == "fine-tune, backbone lr x 0.1"
    assert plain_name("fe") == "frozen backbone (feature extraction)" and plain_name("scratch") == "from scratch"
    assert plain_name("ft:lr=0.05", 0.05) == "fine-tune, backbone lr x 0.1"  # the protocol's own lr: not repeated
    assert plain_name("gradual:every=2") == "gradual unfreezing, every 2"
    with pytest.raises(GridError, match="no strategy named 'fx'"):
        plain_name("fx")
