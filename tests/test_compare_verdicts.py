"""The verdicts of ``minitl compare`` are computed from the numbers: hand-made tables where each claim
holds, and the same tables changed just enough that it fails (or cannot be tested)."""
import html
import json
import math

import pytest

from minitl.compare.stats import Paired, cell
from minitl.compare.verdicts import roles, tradeoff, verdicts

BASE_LR = 0.05
SPECS = {  # label -> (registry name, options, lr)
    "scratch": ("scratch", {}, BASE_LR),
    "fe": ("fe", {}, BASE_LR),
    "ft": ("ft", {}, BASE_LR),
    "ft:backbone_lr_scale=1": ("ft", {"backbone_lr_scale": 1}, BASE_LR),
    "ft:high": ("ft", {"backbone_lr_scale": 1}, 0.5),
}


def make_runs(accuracy, seconds=None, source=None):
    """``accuracy[label][n]`` = one accuracy per seed; ``seconds[label]``; ``source[label]`` = per-seed values at
    the largest n (recalibrated; raw = 0.8 x that)."""
    seconds, source = seconds or {}, source or {}
    runs = []
    for label, per_n in accuracy.items():
        name, options, lr = SPECS[label]
        largest = max(per_n)
        for n, values in per_n.items():
            for seed, value in enumerate(values):
                recal = source.get(label, [None] * len(values))[seed] if n == largest else None
                runs.append({"strategy": label, "registry_name": name, "options": options, "lr": lr, "n": n,
                             "seed": seed, "target_accuracy": value, "train_seconds": seconds.get(label, 1.0),
                             "cache_seconds": 0.0, "forward_flops_per_step": 10, "backward_flops_per_step": 20,
                             "trainable_params": 5,
                             "source_accuracy": None if recal is None else {"raw": 0.8 * recal, "recalibrated": recal}})
    return runs


def lecture_table():
    """A table where every claim holds (shaped like the protocol reference)."""
    accuracy = {
        "scratch": {1: [0.45, 0.47, 0.48], 100: [0.86, 0.855, 0.86]},
        "fe": {1: [0.62, 0.64, 0.63], 100: [0.81, 0.82, 0.815]},
        "ft": {1: [0.60, 0.62, 0.61], 100: [0.855, 0.86, 0.857]},
        "ft:backbone_lr_scale=1": {1: [0.58, 0.61, 0.60], 100: [0.85, 0.862, 0.856]},
        "ft:high": {1: [0.40, 0.43, 0.42], 100: [0.70, 0.72, 0.71]},
    }
    seconds = {"scratch": 20.0, "fe": 0.5, "ft": 20.0, "ft:backbone_lr_scale=1": 20.0, "ft:high": 20.0}
    source = {"ft": [0.95, 0.96, 0.95], "ft:backbone_lr_scale=1": [0.85, 0.86, 0.86], "ft:high": [0.60, 0.58, 0.61]}
    return accuracy, seconds, source


def claims(runs):
    return {c["claim"]: c for c in verdicts(runs, BASE_LR)["claims"]}


def test_paired_z_by_hand():
    d = Paired({0: 0.6, 1: 0.7, 2: 0.8}, {0: 0.5, 1: 0.5, 2: 0.5})
    # diffs 0.1, 0.2, 0.3: mean 0.2, sd 0.1, z = 0.2 / (0.1 / sqrt(3)) = 3.46
    assert d.mean == pytest.approx(0.2) and d.sd == pytest.approx(0.1)
    assert d.z == pytest.approx(0.2 / (0.1 / math.sqrt(3)))
    assert d.beyond_noise and d.better and not d.worse


def test_large_z_with_one_seed_disagreeing_is_not_beyond_noise():
    d = Paired({s: 1.0 for s in range(9)}, {**{s: 0.0 for s in range(8)}, 8: 1.1})
    assert d.z > 2 and not d.seeds_agree and not d.beyond_noise


def test_one_seed_has_no_z():
    d = Paired({0: 0.9}, {0: 0.1})
    assert d.z is None and not d.beyond_noise and "one seed" in d.text()


def test_roles_found_from_the_records():
    role = roles(make_runs(lecture_table()[0]), BASE_LR)
    assert role == {"scratch": "scratch", "frozen": "fe", "small_lr": "ft", "one_lr": "ft:backbone_lr_scale=1",
                    "too_high": "ft:high"}


def test_every_claim_holds_on_the_lecture_table():
    result = claims(make_runs(*lecture_table()))
    assert [result[k]["holds"] for k in (1, 2, 3, 4)] == [True, True, True, True]
    assert result[1]["text"].startswith("HOLDS") and "63.0 %" in result[1]["text"]  # the numbers are in the text


def test_claim_1_fails_when_the_frozen_backbone_does_not_beat_scratch_beyond_noise():
    accuracy, seconds, source = lecture_table()
    accuracy["fe"][1] = [0.50, 0.44, 0.49]  # mean above scratch's, but one seed below: seed noise
    result = claims(make_runs(accuracy, seconds, source))
    assert result[1]["holds"] is False and "DOES NOT HOLD" in result[1]["text"]
    assert "not a win beyond seed noise" in result[1]["text"]


def test_claim_2_fails_when_the_small_lr_forgets_as_much():
    accuracy, seconds, source = lecture_table()
    source["ft"] = [0.86, 0.85, 0.86]
    assert claims(make_runs(accuracy, seconds, source))[2]["holds"] is False


def test_claim_2_fails_when_the_small_lr_costs_target_accuracy():
    accuracy, seconds, source = lecture_table()
    accuracy["ft"][100] = [0.80, 0.81, 0.805]
    result = claims(make_runs(accuracy, seconds, source))[2]
    assert result["holds"] is False and "costs target accuracy" in result["text"]


def test_claim_3_fails_when_the_high_lr_is_not_worse():
    accuracy, seconds, source = lecture_table()
    accuracy["ft:high"] = dict(accuracy["ft"])
    result = claims(make_runs(accuracy, seconds, source))[3]
    assert result["holds"] is False and "not worse beyond seed noise at every n" in result["text"]


def test_claim_4_fails_when_scratch_is_still_behind_or_not_slower():
    accuracy, seconds, source = lecture_table()
    behind = {**accuracy, "scratch": {1: accuracy["scratch"][1], 100: [0.70, 0.71, 0.705]}}
    result = claims(make_runs(behind, seconds, source))[4]
    assert result["holds"] is False and "still behind" in result["text"]
    cheap = dict(seconds, scratch=0.1)
    result = claims(make_runs(accuracy, cheap, source))[4]
    assert result["holds"] is False and "not slower" in result["text"]


def test_missing_strategies_make_a_claim_untested_not_false():
    accuracy, seconds, source = lecture_table()
    del accuracy["ft:backbone_lr_scale=1"], accuracy["ft:high"]
    result = claims(make_runs(accuracy, seconds, source))
    assert result[2]["holds"] is None and "ft:backbone_lr_scale=1" in result[2]["text"]
    assert result[3]["holds"] is None
    assert result[1]["holds"] is True


def test_tradeoff_ranks_accuracy_per_second():
    runs = make_runs(*lecture_table())
    rows = tradeoff(runs)
    assert rows[0]["strategy"] == "fe"  # 81.5 % in 0.5 s
    assert rows[0]["accuracy_per_second"] == pytest.approx(100 * cell(runs, "fe", 100)["accuracy"] / 0.5)


def test_verdicts_show_themselves_in_a_notebook_with_their_numbers():
    judged = verdicts(make_runs(*lecture_table()), BASE_LR)
    markup = judged._repr_html_()
    assert markup.count("<li value=") == 4 and markup.count("HOLDS:") == 4
    for claim in judged["claims"]:
        assert html.escape(claim["text"], quote=False) in markup  # the numbers that decide it, as printed
    assert html.escape(judged["tradeoff_line"], quote=False) in markup
    assert isinstance(judged, dict) and json.loads(json.dumps(judged)) == json.loads(json.dumps(dict(judged)))
