"""What ``minitl compare`` runs: the strategies (by registry name), the sizes n, the seeds.

A strategy in the grid is a registry name with options, written as on the command line::

    scratch                                  get_strategy("scratch")
    ft                                       get_strategy("ft")  (backbone lr x0.1)
    ft:backbone_lr_scale=1                   get_strategy("ft", backbone_lr_scale=1.0): one lr for all
    ft:backbone_lr_scale=1:lr=0.5:schedule=constant
                                             the same, trained at lr 0.5 without the cosine

``lr`` and ``schedule`` belong to the protocol (they change how the strategy is trained, not what
trains); every other option goes to ``minitl.transfer.get_strategy``. Any registered name works,
including strategies a user registers (``minitl.transfer.register_strategy``).
"""
import dataclasses

from ..transfer.strategies import STRATEGIES, get_strategy
from .protocol import SCHEDULES, Protocol

RUN_OPTIONS = ("lr", "schedule")

# The grid a plain ``minitl compare`` runs: one strategy per role the claims need (verdicts.py), the
# smallest and a large n, 3 seeds (each run that trains the backbone is ~300 full steps; how long the
# grids take: benchmarks/README.md). The protocol's full grid, with one lr 0.05 for all layers
# and LP-FT too: --strategies scratch,fe,ft,ft:backbone_lr_scale=1,ft:backbone_lr_scale=1:lr=0.5:schedule=constant,lp-ft
# --n 1,5,20,100.
TOO_HIGH = "ft:backbone_lr_scale=1:lr=0.5:schedule=constant"
DEFAULT_STRATEGIES = ("scratch", "fe", "ft", TOO_HIGH)
DEFAULT_N = (1, 100)
DEFAULT_SEEDS = 3
# For a lecture: the little-data end only (claims 1-3; claim 4 needs a larger n).
QUICK = {"strategies": DEFAULT_STRATEGIES, "n": (1,), "seeds": 3}


# What each registry name is, in words, for the reports a student reads beside the registry strings
PLAIN_NAMES = {"scratch": "from scratch", "fe": "frozen backbone (feature extraction)", "ft": "fine-tune",
               "lp-ft": "linear probe, then fine-tune", "gradual": "gradual unfreezing",
               "discriminative": "discriminative learning rates", "l2sp": "fine-tune pulled toward the pretrained "
               "weights (L2-SP)", "surgical": "fine-tune one block", "bn-only": "BatchNorm parameters only",
               "bitfit": "biases only (BitFit)", "imprint": "imprinted head", "probe": "linear probe", "lora": "LoRA",
               "adapter": "adapters", "prompt": "visual prompt"}


def plain_name(label, base_lr=None, too_high=False) -> str:
    """``"ft:backbone_lr_scale=1:lr=0.5:schedule=constant"`` -> ``"fine-tune, one lr for all layers, lr 0.5
    constant (too high)"``: the registry string in words (``too_high``: the comparison's role for it)."""
    spec = parse_strategy(label)
    words = [PLAIN_NAMES.get(spec.name, spec.name)]
    if spec.name == "ft":
        scale = float(spec.option("backbone_lr_scale", 0.1))
        words.append("one lr for all layers" if scale == 1 else f"backbone lr x {scale:g}")
    words += [f"{key.replace('_', ' ')} {value}" for key, value in spec.options
              if not (spec.name == "ft" and key == "backbone_lr_scale")]
    if spec.lr is not None and spec.lr != base_lr or spec.schedule is not None:
        words.append(" ".join(part for part in (f"lr {spec.lr:g}" if spec.lr is not None else "", spec.schedule or "")
                              if part))
    return ", ".join(words) + (" (too high)" if too_high else "")


class GridError(ValueError):
    """A strategy, n or seed setting ``minitl compare`` cannot run (the message says what to write)."""


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclasses.dataclass(frozen=True)
class StrategySpec:
    """One strategy of the grid: registry ``name``, its ``options``, and the protocol overrides ``lr`` /
    ``schedule`` (None: the protocol's). ``label`` is how tables and the JSON name it."""

    label: str
    name: str
    options: tuple = ()
    lr: float = None
    schedule: str = None

    def build(self):
        """A fresh strategy object from the registry."""
        return get_strategy(self.name, **dict(self.options))

    def learning_rate(self, protocol: Protocol) -> float:
        return protocol.lr if self.lr is None else self.lr

    def schedule_name(self, protocol: Protocol) -> str:
        return self.schedule or protocol.schedule

    def option(self, key, default=None):
        return dict(self.options).get(key, default)

    def as_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "options": dict(self.options), "lr": self.lr,
                "schedule": self.schedule}


def parse_strategy(text: str) -> StrategySpec:
    """``"ft:backbone_lr_scale=1:lr=0.5"`` -> ``StrategySpec``; a clear error for unknown names or bad options."""
    name, *parts = [part.strip() for part in str(text).strip().split(":")]
    if name not in STRATEGIES:
        raise GridError(f"compare: no strategy named {name!r}; registered: {', '.join(STRATEGIES)} "
                        "(options follow the name: ft:backbone_lr_scale=1:lr=0.5)")
    options, run = [], {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise GridError(f"compare: {text!r}: options are written key=value after the name, "
                            f"separated by ':' (got {part!r})")
        if key in RUN_OPTIONS:
            run[key] = _number(value)
        else:
            options.append((key, _number(value)))
    if "schedule" in run and run["schedule"] not in SCHEDULES:
        raise GridError(f"compare: {text!r}: schedule must be one of {', '.join(SCHEDULES)}")
    if "lr" in run and not (isinstance(run["lr"], (int, float)) and run["lr"] > 0):
        raise GridError(f"compare: {text!r}: lr must be a positive number")
    spec = StrategySpec(label=str(text).strip(), name=name, options=tuple(options),
                        lr=None if "lr" not in run else float(run["lr"]), schedule=run.get("schedule"))
    try:
        spec.build()
    except TypeError as error:
        raise GridError(f"compare: {text!r}: {name} does not take these options ({error})") from error
    return spec


def parse_strategies(text_or_list):
    """A comma-separated string (or a list) of strategy specs, in order, without repeats."""
    items = text_or_list.split(",") if isinstance(text_or_list, str) else list(text_or_list)
    specs = [parse_strategy(item) for item in items if str(item).strip()]
    if not specs:
        raise GridError("compare: --strategies names no strategy")
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        raise GridError(f"compare: --strategies names a strategy twice: {', '.join(labels)}")
    return specs


def parse_sizes(text_or_list):
    """``"1,5,20,100"`` -> ``(1, 5, 20, 100)``: images per class, sorted, each at least 1."""
    items = text_or_list.split(",") if isinstance(text_or_list, str) else list(text_or_list)
    try:
        sizes = sorted({int(item) for item in items if str(item).strip()})
    except ValueError as error:
        raise GridError(f"compare: --n takes whole numbers separated by commas, got {text_or_list!r}") from error
    if not sizes or sizes[0] < 1:
        raise GridError(f"compare: --n needs sizes of at least 1 image per class, got {text_or_list!r}")
    return tuple(sizes)
