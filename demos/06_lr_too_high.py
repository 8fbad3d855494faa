"""Demo 6: a learning rate too high destroys what pretraining learned.

Run:  python demos/06_lr_too_high.py [--smoke] [--out DIR]
What to notice: fine-tuning everything at one learning rate, a sweep from small to large, each
rate over three seeds. Two claims are tested: the source accuracy with the old head put back
(after BatchNorm re-estimation, so only the weights count) falls as the rate grows, because large
steps overwrite the features; and the target accuracy rises, then falls. Each is checked against
the seed-to-seed spread (a paired z, as ``minitl compare`` does) and said not to hold where it
does not.
"""
import argparse
from pathlib import Path

import numpy

from minitl import viz
from minitl.compare import load_task
from minitl.compare.stats import Paired
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded, source_accuracy
from minitl.viz.charts import mean_and_spread


def _cell(per_seed):
    mean, spread = mean_and_spread(list(per_seed.values()))
    return f"{mean:.1%} +- {spread:.1%}"


def _versus(a, b, label_a, label_b):
    pair = Paired(a, b)
    if pair.z is None:
        judged = "one seed: no spread to judge it against"
    else:
        judged = f"z {pair.z:+.1f}, {'beyond' if pair.beyond_noise else 'within'} seed noise"
    return f"{label_a} vs {label_b}: {100 * pair.mean:+.1f} points ({judged})", pair


def sweep_conclusions(rates, target, source):
    """The claims of this demo, each computed from the runs. ``target`` and ``source``: one ``{seed: accuracy}``
    per rate, in the order of ``rates``. Returns the lines to print."""
    lines = []
    means = [mean_and_spread(list(t.values()))[0] for t in target]
    best = int(numpy.argmax(means))
    rises = [_versus(target[best], target[0], f"lr {rates[best]}", f"lr {rates[0]}")] if best > 0 else []
    falls = [_versus(target[best], target[-1], f"lr {rates[best]}", f"lr {rates[-1]}")] if best < len(rates) - 1 else []
    if rises and falls and rises[0][1].better and falls[0][1].better:
        lines.append(f"target accuracy rises then falls, peak at lr {rates[best]}: "
                     f"{rises[0][0]}; {falls[0][0]}")
    else:
        detail = "; ".join(text for text, _ in rises + falls) or "only one rate"
        lines.append(f"target accuracy is highest at lr {rates[best]}, but does NOT clearly rise then fall with "
                     f"these seeds: {detail}")
    source_means = [mean_and_spread(list(s.values()))[0] for s in source]
    steady = all(a > b for a, b in zip(source_means, source_means[1:]))
    text, pair = _versus(source[0], source[-1], f"lr {rates[0]}", f"lr {rates[-1]}")
    if steady and pair.better:
        lines.append(f"source accuracy (forgetting) falls at every larger rate: {text}")
    else:
        how = "falls at every larger rate" if steady else "does not fall at every larger rate"
        lines.append(f"source accuracy {how}, but the drop is NOT beyond seed noise: {text}" if not pair.better
                     else f"source accuracy {how}: {text}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="two rates, one seed, one epoch (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = load_task("paired")
    n = 20
    rates, seeds, epochs = ([0.05, 0.5], [0], 1) if args.smoke else ([0.005, 0.05, 0.5], [0, 1, 2], 15)
    source_test = task.source_test.subset(numpy.random.default_rng(0).permutation(len(task.source_test))[:500])
    print(f"set-up: n = {n} labelled images per class of the paired target task, seeds {seeds} (seed s: images s, "
          f"head s, batch order s), {epochs} epoch(s) per run, FineTune with one lr for all layers, SGD momentum "
          f"0.9; target accuracy on {len(task.target_test)} test images, source accuracy on {len(source_test)}")
    source_head = task.source_model().head
    target, source = [{} for _ in rates], [{} for _ in rates]
    for i, lr in enumerate(rates):
        for seed in seeds:
            strategy = get_strategy("ft", backbone_lr_scale=1.0)    # one learning rate for every layer
            with seeded(seed):
                model = strategy.apply(task.pretrained_model())
            loader = DataLoader(few_shot(task.target_train, n, seed=seed), batch_size=32, shuffle=True, seed=seed)
            strategy.fit(model, loader, epochs=epochs, lr=lr, momentum=0.9, weight_decay=5e-4)
            target[i][seed] = evaluate(model, DataLoader(task.target_test, batch_size=250))["accuracy"]
            kept = source_accuracy(model, source_head, DataLoader(source_test, batch_size=250),
                                   calibration_loader=DataLoader(task.source_calibration, batch_size=250))
            source[i][seed] = kept["recalibrated_accuracy"]
        print(f"lr {lr:<6}: target accuracy {_cell(target[i])}, source accuracy (old head, BN re-estimated) "
              f"{_cell(source[i])}  (mean +- sd over {len(seeds)} seed(s))")
    for line in sweep_conclusions(rates, target, source):
        print(line)
    groups = {f"lr {lr}": {"target accuracy": list(target[i].values()),
                           "source accuracy (forgetting)": list(source[i].values())} for i, lr in enumerate(rates)}
    viz.bar_chart(groups, out / "06_lr_sweep.png", title=f"one learning rate for all layers ({len(seeds)} seeds, "
                  "bar: mean, line: +- 1 sd)", y_title="accuracy", x_title="learning rate", percent=True)
    print(f"plot: {out / '06_lr_sweep.png'}")


if __name__ == "__main__":
    main()
