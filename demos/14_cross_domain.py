"""Demo 14: transfer across data sets. Clothes -> digits and digits -> clothes, with few labels.

Run:  python demos/14_cross_domain.py [--smoke] [--out DIR]
What to notice: every transfer so far split one data set in two halves of its classes. Here the
source and the target are different data sets: a SmallCNN pretrained on Fashion-MNIST (weights
'fashion-paired') learns the ten MNIST digits from n images per class, and one pretrained on the
digits (weights 'digits') learns the ten kinds of clothes. Same protocol as ``minitl compare``
(the same command: ``minitl compare --source fashion --target digits``): training from scratch, a
frozen pretrained backbone with a new head, and fine-tuning (backbone lr x0.1), on the same images,
head initialisations and batch orders (paired seeds). Whether transfer helps is read off this
run's numbers: clothes and pen strokes share little beyond edges, and the verdict says so when
the frozen features lose to training from scratch.
"""
import argparse
import json
from pathlib import Path

from minitl import viz
from minitl.compare import Protocol, compare, load_task
from minitl.compare.stats import cell, paired
from minitl.table import text_table

DIRECTIONS = (("fashion", "digits"), ("digits", "fashion"))
STRATEGIES = ("scratch", "fe", "ft")
NAMES = {"scratch": "from scratch", "fe": "frozen backbone + new head", "ft": "fine-tune (backbone lr x0.1)"}


def direction_task(source, target, smoke):
    task = load_task(source=source, target=target)
    if smoke:
        task.target_test = task.target_test.subset(range(0, len(task.target_test), 10))
    task.source_test = task.source_test.subset(range(0, len(task.source_test), 5))  # forgetting: not shown here
    return task


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one seed, n = 1, a few steps (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n, seeds = (1, 1) if args.smoke else (5, 3)
    protocol = Protocol(min_steps=4, min_epochs=1) if args.smoke else Protocol(min_steps=100, min_epochs=10)
    print(f"set-up: n = {n} labelled images per class (10 classes), {seeds} seed(s) (paired), at least "
          f"{protocol.min_steps} steps / {protocol.min_epochs} epochs at lr {protocol.lr} (cosine), bundled subsets")
    rows, bars, summary = [], {}, {}
    for source, target in DIRECTIONS:
        task = direction_task(source, target, args.smoke)
        result = compare(strategies=STRATEGIES, n=[n], seeds=seeds, protocol=protocol, verbose=False, task=task)
        label = f"{source} -> {target}"
        print(f"{label}: {task.description} ({len(task.target_test)} test images)")
        bars[label] = {NAMES[s]: [r["target_accuracy"] for r in result["runs"] if r["strategy"] == s]
                       for s in STRATEGIES}
        for strategy in STRATEGIES:
            stats = cell(result["runs"], strategy, n)
            versus = "-" if strategy == "scratch" else paired(result["runs"], strategy, "scratch", n).text()
            rows.append((label, NAMES[strategy], f"{stats['accuracy']:.1%} +- {stats['accuracy_std']:.1%}", versus))
        claim = result["verdicts"]["claims"][0]
        finetune = paired(result["runs"], "ft", "scratch", n)
        summary[label] = {"verdict": claim["text"], "holds": claim["holds"], "runs": result["runs"],
                          "finetune": "beats" if finetune.better else "loses to" if finetune.worse else
                          "is within seed noise of"}
    print(text_table(("direction", "strategy", f"target accuracy (mean +- sd, {seeds} seed(s))", "vs scratch"),
                     rows))
    for label, item in summary.items():
        print(f"{label}: with very little target data, the frozen pretrained backbone beats scratch? "
              f"{item['verdict']}")
    for label, item in summary.items():
        print(f"{label}: fine-tuning {item['finetune']} training from scratch")
    print(conclusion(summary))
    chart = out / "14_cross_domain.png"
    viz.bar_chart(bars, chart, title=f"transfer across data sets (n = {n} per class, {seeds} seed(s))",
                  y_title="target test accuracy")
    (out / "14_cross_domain.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"plot: {chart}")


def conclusion(summary):
    helped = [label for label, item in summary.items() if item["holds"]]
    if len(helped) == len(summary):
        return "conclusion: the frozen backbone beat scratch beyond seed noise in both directions."
    if not helped:
        return ("conclusion: in neither direction did the frozen pretrained features beat training from scratch "
                "beyond seed noise: features learnt on one kind of picture did not carry to the other here.")
    others = [label for label in summary if label not in helped]
    return (f"conclusion: transfer helped {', '.join(helped)} but not {', '.join(others)}: "
            "transfer between domains need not be symmetric.")


if __name__ == "__main__":
    main()
