"""From run records to the numbers of the table: means over seeds and paired differences with their z.

Paired, because repeat ``i`` gives every strategy the same images, head initialisation and batch
order (protocol.py): the difference ``d_i = acc(strategy, i) - acc(baseline, i)`` removes most of
the luck both runs share. With ``k`` repeats,

    mean d = sum d_i / k,   sd d = sqrt(sum (d_i - mean d)^2 / (k - 1)),   z = mean d / (sd d / sqrt k)

and a difference is called **beyond seed noise** only when ``|z| > 2`` *and* every repeat agrees
on its sign. With one repeat there is no z (None), so nothing is ever beyond noise.
"""
import math

from ..viz.charts import mean_and_spread as mean_std

Z_THRESHOLD = 2.0


def select(runs, strategy=None, n=None):
    return [r for r in runs if (strategy is None or r["strategy"] == strategy) and (n is None or r["n"] == n)]


def by_seed(runs, strategy, n, value):
    """``{seed: value(run)}`` for one cell; runs where ``value`` is None are left out."""
    cell = {}
    for run in select(runs, strategy, n):
        v = value(run)
        if v is not None:
            cell[run["seed"]] = float(v)
    return cell


def target_accuracy(run):
    return run["target_accuracy"]


def recalibrated_source_accuracy(run):
    source = run.get("source_accuracy")
    return None if not source else source.get("recalibrated")


def raw_source_accuracy(run):
    source = run.get("source_accuracy")
    return None if not source else source.get("raw")


class Paired:
    """The paired difference of ``a`` minus ``b`` over the seeds both have (see the module docstring)."""

    def __init__(self, a: dict, b: dict):
        seeds = sorted(set(a) & set(b))
        self.seeds = seeds
        self.diffs = [a[s] - b[s] for s in seeds]
        self.mean, self.sd = mean_std(self.diffs) if seeds else (float("nan"), float("nan"))

    @property
    def z(self):
        if len(self.diffs) < 2:
            return None
        if self.sd == 0.0:
            return 0.0 if self.mean == 0.0 else math.copysign(math.inf, self.mean)
        return self.mean / (self.sd / math.sqrt(len(self.diffs)))

    @property
    def seeds_agree(self) -> bool:
        return bool(self.diffs) and (all(d > 0 for d in self.diffs) or all(d < 0 for d in self.diffs))

    @property
    def beyond_noise(self) -> bool:
        """|z| > 2 and every seed agrees on the sign."""
        z = self.z
        return z is not None and abs(z) > Z_THRESHOLD and self.seeds_agree

    @property
    def better(self) -> bool:
        """``a`` beats ``b`` beyond seed noise."""
        return self.beyond_noise and self.mean > 0

    @property
    def worse(self) -> bool:
        """``a`` loses to ``b`` beyond seed noise."""
        return self.beyond_noise and self.mean < 0

    def as_dict(self) -> dict:
        z = self.z
        return {"mean": self.mean, "sd": self.sd, "z": None if z is None or math.isinf(z) else z,
                "z_infinite": z is not None and math.isinf(z), "seeds_agree": self.seeds_agree,
                "beyond_noise": self.beyond_noise, "diffs": self.diffs}

    def text(self, scale=100.0, unit=" pts") -> str:
        """``"+16.6 pts (z 5.1, beyond seed noise)"``: what the table and verdicts print."""
        if not self.diffs:
            return "-"
        z = self.z
        z_text = "no z: one seed" if z is None else f"z {'inf' if math.isinf(z) else f'{z:.1f}'}"
        return (f"{self.mean * scale:+.1f}{unit} ({z_text}"
                f"{', beyond seed noise' if self.beyond_noise else ''})")


def paired(runs, a, b, n, value=target_accuracy) -> Paired:
    return Paired(by_seed(runs, a, n, value), by_seed(runs, b, n, value))


def cell(runs, strategy, n):
    """Means and spreads of one strategy at one n: accuracy, time, cost, forgetting."""
    rows = select(runs, strategy, n)
    if not rows:
        return None
    acc = mean_std([r["target_accuracy"] for r in rows])
    seconds = mean_std([r["train_seconds"] + r.get("cache_seconds", 0.0) for r in rows])
    raw = [v for v in (raw_source_accuracy(r) for r in rows) if v is not None]
    recal = [v for v in (recalibrated_source_accuracy(r) for r in rows) if v is not None]
    return {"strategy": strategy, "n": n, "seeds": len(rows), "accuracy": acc[0], "accuracy_std": acc[1],
            "seconds": seconds[0], "seconds_std": seconds[1],
            "step_flops": rows[0]["forward_flops_per_step"] + rows[0]["backward_flops_per_step"],
            "forward_flops": rows[0]["forward_flops_per_step"], "trainable_params": rows[0]["trainable_params"],
            "cached": rows[0].get("cached", False),
            "source_raw": mean_std(raw) if raw else None, "source_recalibrated": mean_std(recal) if recal else None}


def strategies_of(runs):
    return list(dict.fromkeys(r["strategy"] for r in runs))


def sizes_of(runs):
    return sorted({r["n"] for r in runs})
