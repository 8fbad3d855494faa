"""The four claims of the lecture, judged from the table every time, never written in advance.

    1. with very little target data, the frozen pretrained backbone + new head beats training from scratch;
    2. a smaller backbone learning rate keeps the pretrained features (forgetting) at equal target
       accuracy, and beats one large learning rate;
    3. a too-high learning rate destroys the pretrained features (target accuracy and forgetting);
    4. with enough target data, training from scratch catches up or wins, at a higher time cost.

``verdicts(runs, base_lr)`` finds who plays which role in the grid from the run records
(``scratch``; ``fe``; ``ft`` with a backbone scale below 1 at the protocol lr; ``ft`` with one lr
for all at the protocol lr, which claim 2 compares with, or else the high-lr run; any ``ft`` above
the protocol lr), computes paired differences
(stats.py) and returns one dict per claim: ``holds`` True / False (with the numbers that decide
it) or None when the grid lacks a strategy the claim needs (the text says which to add), plus the
trade-off line: accuracy per second of training.
"""
from .report import Verdicts
from .stats import (
    Paired,
    by_seed,
    cell,
    paired,
    recalibrated_source_accuracy,
    sizes_of,
    strategies_of,
    target_accuracy,
)

CLAIMS = {
    1: "with very little target data, the frozen pretrained backbone + new head beats training from scratch",
    2: "a smaller backbone learning rate keeps the pretrained features at equal target accuracy, and beats "
       "one large learning rate",
    3: "a too-high learning rate destroys the pretrained features (target accuracy and forgetting)",
    4: "with enough target data, training from scratch catches up or wins, at a higher time cost",
}


def _first(runs, test):
    for run in runs:
        if test(run):
            return run["strategy"]
    return None


def roles(runs, base_lr):
    """``{"scratch", "frozen", "small_lr", "one_lr", "too_high"}`` -> strategy label (or None)."""

    def ft(run):
        return run.get("registry_name") == "ft"

    def scale(run):
        return float(run.get("options", {}).get("backbone_lr_scale", 0.1))  # FineTune's default

    return {
        "scratch": _first(runs, lambda r: r.get("registry_name") == "scratch" and r["lr"] == base_lr),
        "frozen": _first(runs, lambda r: r.get("registry_name") == "fe" and r["lr"] == base_lr),
        "small_lr": _first(runs, lambda r: ft(r) and scale(r) < 1 and r["lr"] == base_lr),
        "one_lr": _first(runs, lambda r: ft(r) and scale(r) == 1 and r["lr"] == base_lr),
        "too_high": _first(runs, lambda r: ft(r) and r["lr"] > base_lr),
    }


def pct(value):
    return f"{100 * value:.1f} %"


def _acc(runs, strategy, n):
    return pct(cell(runs, strategy, n)["accuracy"])


def _src(runs, strategy, n):
    source = cell(runs, strategy, n)["source_recalibrated"]
    return "-" if source is None else pct(source[0])


def _missing(claim, names, where="--strategies"):
    return {"claim": claim, "title": CLAIMS[claim], "holds": None,
            "text": f"not tested: add {' and '.join(names)} to {where}", "numbers": {}}


def _verdict(claim, holds, because, numbers):
    word = "HOLDS" if holds else "DOES NOT HOLD"
    return {"claim": claim, "title": CLAIMS[claim], "holds": bool(holds), "text": f"{word}: {because}",
            "numbers": numbers}


def _with_forgetting(runs, *strategies):
    """The largest n at which every strategy has a forgetting number (None if there is none)."""
    sizes = [n for n in sizes_of(runs)
             if all(by_seed(runs, s, n, recalibrated_source_accuracy) for s in strategies)]
    return sizes[-1] if sizes else None


def claim_little_data(runs, role):
    if not (role["frozen"] and role["scratch"]):
        return _missing(1, [name for name, r in (("fe", role["frozen"]), ("scratch", role["scratch"])) if not r])
    n = sizes_of(runs)[0]
    d = paired(runs, role["frozen"], role["scratch"], n)
    because = (f"n = {n}: frozen backbone {_acc(runs, role['frozen'], n)} vs scratch "
               f"{_acc(runs, role['scratch'], n)}, difference {d.text()}")
    if not d.better:
        because += "; not a win beyond seed noise" if d.mean > 0 else "; scratch is not behind"
    return _verdict(1, d.better, because, {"n": n, "difference": d.as_dict()})


def claim_small_lr(runs, role):
    one = role["one_lr"] or role["too_high"]  # one lr for all layers: the protocol's, else the high one
    if not (role["small_lr"] and one):
        need = [name for name, r in (("ft", role["small_lr"]), ("ft:backbone_lr_scale=1", one)) if not r]
        return _missing(2, need)
    small = role["small_lr"]
    n = _with_forgetting(runs, small, one)
    if n is None:
        return _missing(2, ["a fine-tune run with forgetting measured (it is measured at the largest n)"])
    kept = paired(runs, small, one, n, recalibrated_source_accuracy)
    target = paired(runs, small, one, n, target_accuracy)
    holds = kept.better and not target.worse
    because = (f"n = {n}: source accuracy after BN re-estimation {small} {_src(runs, small, n)} vs {one} "
               f"{_src(runs, one, n)} ({kept.text()}); target accuracy {_acc(runs, small, n)} vs "
               f"{_acc(runs, one, n)} ({target.text()})")
    if not kept.better:
        because += "; the smaller backbone lr does not keep more of the source task beyond seed noise"
    if target.worse:
        because += "; and it costs target accuracy"
    return _verdict(2, holds, because, {"n": n, "source_difference": kept.as_dict(),
                                        "target_difference": target.as_dict()})


def claim_too_high(runs, role):
    reference = role["small_lr"] or role["frozen"]
    if not (role["too_high"] and reference):
        need = [name for name, r in (("ft:backbone_lr_scale=1:lr=0.5:schedule=constant", role["too_high"]),
                                     ("ft", reference)) if not r]
        return _missing(3, need)
    high = role["too_high"]
    sizes = sizes_of(runs)
    targets = {n: paired(runs, high, reference, n) for n in sizes}
    worse_everywhere = all(d.worse for d in targets.values())
    n = _with_forgetting(runs, high, reference) if role["small_lr"] else None
    forgot = paired(runs, high, reference, n, recalibrated_source_accuracy) if n is not None else None
    holds = worse_everywhere and (forgot is None or forgot.worse)
    parts = ", ".join(f"n = {k}: {_acc(runs, high, k)} vs {_acc(runs, reference, k)} ({d.text()})"
                      for k, d in targets.items())
    because = f"target accuracy {high} vs {reference}: {parts}"
    if forgot is not None:
        because += (f"; source accuracy after BN re-estimation at n = {n}: {_src(runs, high, n)} vs "
                    f"{_src(runs, reference, n)} ({forgot.text()})")
    if not worse_everywhere:
        because += "; not worse beyond seed noise at every n"
    if forgot is not None and not forgot.worse:
        because += "; forgetting not worse beyond seed noise"
    return _verdict(3, holds, because, {"reference": reference,
                                        "target_differences": {str(k): d.as_dict() for k, d in targets.items()},
                                        "source_difference": forgot.as_dict() if forgot else None})


def _best_transfer(runs, role, n):
    """The pretrained strategy (not scratch, not the too-high lr) with the best mean accuracy at ``n``."""
    candidates = [s for s in strategies_of(runs) if s not in (role["scratch"], role["too_high"])
                  and cell(runs, s, n) is not None]
    return max(candidates, key=lambda s: cell(runs, s, n)["accuracy"]) if candidates else None


def claim_enough_data(runs, role):
    sizes = sizes_of(runs)
    if not (role["scratch"] and role["frozen"]):
        return _missing(4, [name for name, r in (("scratch", role["scratch"]), ("fe", role["frozen"])) if not r])
    if len(sizes) < 2:
        return _missing(4, ["a second, larger n"], "--n (e.g. --n 1,100)")
    small, big, scratch = sizes[0], sizes[-1], role["scratch"]
    best_small, best_big = _best_transfer(runs, role, small), _best_transfer(runs, role, big)
    gap_small = paired(runs, scratch, best_small, small)
    gap_big = paired(runs, scratch, best_big, big)
    frozen_big, scratch_big = cell(runs, role["frozen"], big), cell(runs, scratch, big)
    costlier = scratch_big["seconds"] > frozen_big["seconds"]
    closes = gap_big.mean > gap_small.mean
    holds = not gap_big.worse and closes and costlier
    because = (f"scratch minus the best transfer: n = {small}: {gap_small.text()} (vs {best_small}), n = {big}: "
               f"{gap_big.text()} (vs {best_big}); training time at n = {big}: scratch "
               f"{scratch_big['seconds']:.1f} s vs frozen backbone {frozen_big['seconds']:.1f} s")
    if gap_big.worse:
        because += "; scratch is still behind beyond seed noise"
    if not closes:
        because += "; the gap does not close as n grows"
    if not costlier:
        because += "; scratch is not slower than the frozen backbone"
    return _verdict(4, holds, because, {"small_n": small, "big_n": big, "gap_small": gap_small.as_dict(),
                                        "gap_big": gap_big.as_dict(), "scratch_seconds": scratch_big["seconds"],
                                        "frozen_seconds": frozen_big["seconds"]})


def tradeoff(runs):
    """Per strategy at the largest n: mean accuracy, mean seconds and accuracy points per second, best first."""
    n = sizes_of(runs)[-1]
    rows = []
    for strategy in strategies_of(runs):
        c = cell(runs, strategy, n)
        if c is not None:
            rows.append({"strategy": strategy, "n": n, "accuracy": c["accuracy"], "seconds": c["seconds"],
                         "accuracy_per_second": 100 * c["accuracy"] / max(c["seconds"], 1e-9)})
    return sorted(rows, key=lambda r: -r["accuracy_per_second"])


def tradeoff_line(rows) -> str:
    if not rows:
        return "trade-off: no runs"
    parts = "; ".join(f"{r['strategy']} {pct(r['accuracy'])} in {r['seconds']:.1f} s = "
                      f"{r['accuracy_per_second']:.1f} %/s" for r in rows)
    return f"trade-off at n = {rows[0]['n']} (accuracy per second of training, best first): {parts}"


def verdicts(runs, base_lr):
    """``{"roles": ..., "claims": [4 dicts], "tradeoff": [...], "tradeoff_line": str}`` from the run records."""
    role = roles(runs, base_lr)
    claims = [claim_little_data(runs, role), claim_small_lr(runs, role), claim_too_high(runs, role),
              claim_enough_data(runs, role)]
    rows = tradeoff(runs)
    return Verdicts(roles=role, claims=claims, tradeoff=rows, tradeoff_line=tradeoff_line(rows))


__all__ = ["CLAIMS", "Paired", "roles", "tradeoff", "verdicts"]
