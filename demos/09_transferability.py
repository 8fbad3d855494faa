"""Demo 9: how transferable is each block? Freeze the first k pretrained blocks, after Yosinski et al. 2014.

Run:  python demos/09_transferability.py [--smoke] [--out DIR]
What to notice: the first k blocks are copied from the pretrained network, the others start fresh;
"frozen" keeps the k copied blocks fixed, "fine-tuned" lets them train too. k = 0 is training from
scratch (one run: nothing to freeze); frozen k = 3 is feature extraction. Each setting runs over
three seeds and the chart shows their spread on an axis that starts at 0; the printed conclusions
(copying beats scratch? freezing costs accuracy?) are paired comparisons over those seeds, said
not to hold where the differences are within seed noise.
"""
import argparse
from pathlib import Path

from minitl import viz
from minitl.compare import load_task
from minitl.compare.stats import Paired
from minitl.data import DataLoader, few_shot
from minitl.models import SmallCNN
from minitl.optim import SGD
from minitl.optim.lr_scheduler import CosineAnnealingLR
from minitl.train import evaluate, fit
from minitl.transfer import seeded
from minitl.viz.charts import mean_and_spread


def transfer_first(task, k, freeze, seed):
    """The pretrained network with blocks k.. (and the head) re-initialised; the first k frozen if asked."""
    with seeded(seed):
        model, fresh = task.pretrained_model(), SmallCNN(num_classes=5)
    for block, new in list(zip(model.blocks(), fresh.blocks()))[k:]:
        block.load_state_dict(new.state_dict())
    if freeze:
        model.freeze_to(k)
    return model


def _compare(a, b):
    pair = Paired(a, b)
    if pair.z is None:
        return pair, f"{100 * pair.mean:+.1f} points (one seed: no spread to judge it against)"
    return pair, (f"{100 * pair.mean:+.1f} points (z {pair.z:+.1f}, "
                  f"{'beyond' if pair.beyond_noise else 'within'} seed noise)")


def depth_conclusions(depths, results):
    """``results[variant][i]``: ``{seed: accuracy}`` at ``depths[i]`` (k = 0, scratch, is ``depths[0]``, the same
    run for both variants). Returns the lines to print, each computed from the runs."""
    scratch = results["frozen"][0]
    lines = []
    for variant in ("fine-tuned", "frozen"):
        better = [k for k, runs in zip(depths[1:], results[variant][1:]) if _compare(runs, scratch)[0].better]
        detail = "; ".join(f"k={k} {_compare(runs, scratch)[1]}" for k, runs in zip(depths[1:], results[variant][1:]))
        verdict = f"beats scratch beyond seed noise at k = {', '.join(map(str, better))}" if better else \
            "does NOT beat scratch beyond seed noise at any k"
        how = "fine-tuning" if variant == "fine-tuned" else "freezing"
        lines.append(f"copying k pretrained blocks and {how} them {verdict}: {detail}")
    costs = [(k, *_compare(tuned, frozen)) for k, tuned, frozen in
             zip(depths[1:], results["fine-tuned"][1:], results["frozen"][1:])]
    hurt = [k for k, pair, _ in costs if pair.better]
    detail = "; ".join(f"k={k} {text}" for k, _, text in costs)
    if hurt:
        lines.append(f"freezing costs accuracy (fine-tuned beats frozen beyond seed noise) from k = {min(hurt)}: "
                     f"{detail}")
    else:
        lines.append(f"freezing does NOT cost accuracy beyond seed noise at any k (fine-tuned minus frozen): {detail}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="k = 0 and 3, one seed, a few steps (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = load_task("paired")
    n = 20
    depths, seeds, epochs = ([0, 3], [0], 1) if args.smoke else ([0, 1, 2, 3], [0, 1, 2], 10)
    print(f"set-up: n = {n} labelled images per class of the paired target task, seeds {seeds} (seed s: images s, "
          f"fresh layers s, batch order s), {epochs} epoch(s){' of 2 steps (smoke)' if args.smoke else ''} per run, "
          f"SGD lr 0.05 cosine momentum 0.9; test on {len(task.target_test)} target images")
    results = {"frozen": [], "fine-tuned": []}
    for k in depths:
        for variant in results:
            if k == 0 and variant == "fine-tuned":  # nothing copied, nothing to freeze: the same run as "frozen"
                results[variant].append(results["frozen"][0])
                continue
            runs = {}
            for seed in seeds:
                model = transfer_first(task, k, freeze=variant == "frozen", seed=seed)
                loader = DataLoader(few_shot(task.target_train, n, seed=seed), batch_size=32, shuffle=True, seed=seed)
                optimizer = SGD(model, lr=0.05, momentum=0.9, weight_decay=5e-4)
                fit(model, optimizer, loader, epochs=epochs, steps=2 if args.smoke else None, verbose=False,
                    scheduler=CosineAnnealingLR(optimizer, T_max=epochs * len(loader)), scheduler_interval="step")
                runs[seed] = evaluate(model, DataLoader(task.target_test, batch_size=250))["accuracy"]
            results[variant].append(runs)
            mean, spread = mean_and_spread(list(runs.values()))
            label = "scratch" if k == 0 else variant
            print(f"first {k} block(s) pretrained, {label:<10}: test accuracy {mean:.1%} +- {spread:.1%} "
                  f"(mean +- sd over {len(seeds)} seed(s))")
    for line in depth_conclusions(depths, results):
        print(line)
    groups = {f"k = {k}": {variant: list(results[variant][i].values()) for variant in results}
              for i, k in enumerate(depths) if k > 0}
    groups = {"k = 0": {"scratch": list(results["frozen"][0].values())}, **groups} if depths[0] == 0 else groups
    viz.bar_chart(groups, out / "09_transferability.png", x_title="k (pretrained blocks copied; k = 0: scratch)",
                  y_title="target accuracy", title=f"transferability by depth (n = {n} per class, {len(seeds)} seeds: "
                  "mean +- 1 sd)", percent=True)
    print(f"plot: {out / '09_transferability.png'}")


if __name__ == "__main__":
    main()
