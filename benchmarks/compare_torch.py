"""The PyTorch twin of ``minitl compare``: the same protocol trained by PyTorch, run by run.

    python benchmarks/compare_torch.py --minitl results/compare.json    same grid as that run, side by side
    python benchmarks/compare_torch.py --quick                           the --quick grid alone

Needs torch (a test-only oracle; minitl itself never imports it). What is shared with minitl, so
that seed i of the twin is seed i of minitl: the data (minitl's bundled Fashion-MNIST subset,
normalised with the source statistics of the shipped weights), the target subset, the starting
weights (the shipped npz backbone read with NumPy, the new head or scratch init drawn by minitl from
the head seed: ``minitl.compare.run.start``) and the batch order (``protocol.batch_plan``). What
is PyTorch's own: every forward, backward and SGD step, the BatchNorm statistics, the evaluation.
Strategies: scratch, fe (features of the frozen backbone computed once, like minitl's cache), ft
(backbone at ``backbone_lr_scale`` x lr through a param group), lp-ft (probe, then everything with a
fresh optimizer and schedule, as ``minitl.transfer.LPFT``), each with the protocol's lr / schedule.

Prints the twin's table, and with ``--minitl`` both side by side: accuracy of each, their
difference against the seed spread (two-sample z over seeds), and the wall-time ratio minitl / PyTorch.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # torch_twins: the models in PyTorch

import torch
from torch import nn

from minitl.compare import grid as compare_grid
from minitl.compare.protocol import Protocol, batch_plan, run_seeds
from minitl.compare.run import start
from minitl.compare.stats import mean_std
from minitl.compare.task import load_task
from minitl.data.loader import DataLoader
from minitl.table import text_table
from torch_twins import torch_smallcnn  # SmallCNN in PyTorch with minitl's parameter names

EVAL_BATCH = 100


def to_torch(minitl_model):
    model = torch_smallcnn(minitl_model.num_classes)
    state = {k: torch.tensor(numpy.asarray(v)) for k, v in minitl_model.state_dict().items()}
    model.load_state_dict(state, strict=False)  # num_batches_tracked: PyTorch's own counter
    return model


def batches(dataset, plan):
    for indices in plan:
        images, labels = dataset.get_batch(indices)
        yield torch.from_numpy(numpy.ascontiguousarray(images)), torch.from_numpy(labels.astype(numpy.int64))


def sgd(groups, protocol):
    """SGD with the protocol's momentum and weight decay; each group carries its own lr."""
    return torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=protocol.momentum,
                           weight_decay=protocol.weight_decay)


def train_steps(module, optimizer, data, steps, schedule):
    factor = (lambda t: 0.5 * (1 + math.cos(math.pi * t / steps))) if schedule == "cosine" else (lambda t: 1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    loss_fn = nn.CrossEntropyLoss()
    for images, labels in data:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(module(images), labels).backward()
        optimizer.step()
        scheduler.step()


def evaluate(model, dataset):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start_index in range(0, len(dataset), EVAL_BATCH):
            images, labels = dataset.get_batch(numpy.arange(start_index, min(len(dataset), start_index + EVAL_BATCH)))
            correct += int((model(torch.from_numpy(images)).argmax(1).numpy() == labels).sum())
    return correct / len(dataset)


def recalibrate(model, dataset):
    """Reset and re-estimate BatchNorm statistics as a plain average (momentum None), as minitl does."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for start_index in range(0, len(dataset), 250):
            images, _ = dataset.get_batch(numpy.arange(start_index, min(len(dataset), start_index + 250)))
            model(torch.from_numpy(images))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def forgetting(model, source_head, task):
    model = torch_clone(model)
    model.head = source_head
    raw = evaluate(model, task.source_test)
    recalibrate(model, task.source_calibration)
    return {"raw": raw, "recalibrated": evaluate(model, task.source_test)}


def torch_clone(model):
    twin = torch_smallcnn(model.head.out_features)
    twin.load_state_dict(model.state_dict())
    return twin


def run(spec, n, repeat, seeds, task, protocol, source_head, measure_forgetting):
    """One twin run: the same start as minitl's, then PyTorch trains it."""
    strategy, minitl_model, subset = start(spec, n, seeds, task)
    model = to_torch(minitl_model)
    lr, schedule = spec.learning_rate(protocol), spec.schedule_name(protocol)
    batch, epochs = protocol.batch_size(len(subset)), protocol.epochs(len(subset))
    plan = batch_plan(DataLoader(subset, batch_size=batch, shuffle=True, seed=seeds.order), protocol.steps(len(subset)))
    cache_seconds, began = 0.0, time.perf_counter()
    if spec.name == "fe":
        model.backbone.eval()
        for p in model.backbone.parameters():
            p.requires_grad_(False)
        with torch.no_grad():  # the frozen backbone's features, once (minitl's FeatureCache)
            images, labels = subset.get_batch(numpy.arange(len(subset)))
            features = model.backbone(torch.from_numpy(images))
        cache_seconds, began = time.perf_counter() - began, time.perf_counter()
        targets = torch.from_numpy(labels.astype(numpy.int64))
        data = ((features[torch.from_numpy(idx)], targets[torch.from_numpy(idx)]) for idx in plan)
        head_optimizer = sgd([{"params": model.head.parameters(), "lr": lr}], protocol)
        train_steps(model.head, head_optimizer, data, len(plan), schedule)
    elif spec.name in ("scratch", "ft"):
        scale = 1.0 if spec.name == "scratch" else float(spec.option("backbone_lr_scale", 0.1))
        groups = [{"params": model.backbone.parameters(), "lr": lr * scale},
                  {"params": model.head.parameters(), "lr": lr}]
        optimizer = sgd(groups, protocol)
        model.train()
        train_steps(model, optimizer, batches(subset, plan), len(plan), schedule)
    elif spec.name == "lp-ft":
        probe_epochs, _ = strategy.split_epochs(epochs)
        probe_steps = probe_epochs * math.ceil(len(subset) / batch)
        for p in model.backbone.parameters():
            p.requires_grad_(False)
        model.train()
        model.backbone.eval()  # a frozen BatchNorm uses its running statistics (minitl: frozen, effect 4)
        train_steps(model, sgd([{"params": model.head.parameters(), "lr": lr}], protocol),
                    batches(subset, plan[:probe_steps]), probe_steps, schedule)
        for p in model.backbone.parameters():
            p.requires_grad_(True)
        model.train()
        scale = strategy.backbone_lr_scale
        optimizer = sgd([{"params": model.head.parameters(), "lr": lr},
                         {"params": model.backbone.parameters(), "lr": lr * scale}], protocol)
        train_steps(model, optimizer, batches(subset, plan[probe_steps:]), len(plan) - probe_steps, schedule)
    else:
        raise SystemExit(f"compare_torch: the twin has no PyTorch version of {spec.label!r} "
                         "(it knows scratch, fe, ft, lp-ft)")
    train_seconds = time.perf_counter() - began
    record = {"strategy": spec.label, "n": n, "seed": repeat, "target_accuracy": evaluate(model, task.target_test),
              "train_seconds": train_seconds, "cache_seconds": cache_seconds, "source_accuracy": None}
    if spec.name in ("ft", "lp-ft") and measure_forgetting:
        record["source_accuracy"] = forgetting(model, source_head, task)
    return record


def cell_stats(records, strategy, n):
    rows = [r for r in records if r["strategy"] == strategy and r["n"] == n]
    acc = mean_std([r["target_accuracy"] for r in rows])
    seconds = sum(r["train_seconds"] + r["cache_seconds"] for r in rows) / len(rows)
    recal = [r["source_accuracy"]["recalibrated"] for r in rows if r["source_accuracy"]]
    return {"accuracy": acc, "seconds": seconds, "source": mean_std(recal) if recal else None, "k": len(rows)}


def table(records, minitl_runs=None):
    strategies = list(dict.fromkeys(r["strategy"] for r in records))
    sizes = sorted({r["n"] for r in records})
    rows, ratios = [], []
    for n in sizes:
        for s in strategies:
            t = cell_stats(records, s, n)
            row = [s, str(n), f"{100 * t['accuracy'][0]:.1f} ± {100 * t['accuracy'][1]:.1f}", f"{t['seconds']:.2f}",
                   "-" if t["source"] is None else f"{100 * t['source'][0]:.1f}"]
            if minitl_runs is not None:
                m = cell_stats(minitl_runs, s, n)
                spread = math.sqrt((m["accuracy"][1] ** 2 + t["accuracy"][1] ** 2) / max(t["k"], 1))
                diff = m["accuracy"][0] - t["accuracy"][0]
                z = diff / spread if spread > 0 else (0.0 if diff == 0 else math.inf)
                ratio = m["seconds"] / t["seconds"] if t["seconds"] > 0 else math.nan
                ratios.append(ratio)
                row[2:2] = [f"{100 * m['accuracy'][0]:.1f} ± {100 * m['accuracy'][1]:.1f}"]
                row[4:4] = [f"{100 * diff:+.1f} (z {z:.1f}{', within spread' if abs(z) <= 2 else ', BEYOND spread'})",
                            f"{m['seconds']:.2f}"]
                row.append("-" if m["source"] is None else f"{100 * m['source'][0]:.1f}")
                row.append(f"{ratio:.2f}x")
            rows.append(row)
    if minitl_runs is None:
        header = ["strategy", "n", "PyTorch acc %", "train s", "source acc % (BN re-est.)"]
    else:
        header = ["strategy", "n", "minitl acc %", "PyTorch acc %", "minitl - PyTorch", "minitl s", "PyTorch s",
                  "PyTorch source %", "minitl source %", "time ratio"]
    footer = []
    if ratios:
        finite = [r for r in ratios if math.isfinite(r)]
        footer = [(f"wall-time ratio minitl / PyTorch (training, per cell): median {numpy.median(finite):.2f}x, "
                   f"min {min(finite):.2f}x, max {max(finite):.2f}x")]
    return text_table(header, rows, footer)


def protocol_case(quick=True, env=None):
    """Benchmark case 8 (benchmarks/run.py): ``minitl compare --quick`` then this twin on its JSON, each in
    its own process (with ``env``: run.py's, the BLAS variables unset); returns the twin's side-by-side
    table with the wall-time ratio."""
    import subprocess  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as folder:
        flags = ["--quick"] if quick else []
        subprocess.run([sys.executable, "-m", "minitl", "compare", *flags, "--quiet", "--out", folder], cwd=root,
                       check=True, capture_output=True, env=env)
        twin = subprocess.run([sys.executable, __file__, "--minitl", str(Path(folder) / "compare.json")], cwd=root,
                              check=True, capture_output=True, text=True, env=env)
    return twin.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minitl", help="a compare.json: run the same grid and print both side by side")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--strategies")
    parser.add_argument("--n")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--split", default="paired")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the twin's run records here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    minitl_result = json.loads(Path(args.minitl).read_text()) if args.minitl else None
    grid = compare_grid.QUICK if args.quick else {"strategies": compare_grid.DEFAULT_STRATEGIES,
                                                   "n": compare_grid.DEFAULT_N, "seeds": compare_grid.DEFAULT_SEEDS}
    if minitl_result is not None:
        settings = minitl_result["settings"]
        grid = {"strategies": [s["label"] for s in settings["strategies"]], "n": settings["n"],
                "seeds": settings["seeds"]}
        args.split = settings["task"]["split"]
    specs = compare_grid.parse_strategies(args.strategies or grid["strategies"])
    sizes = compare_grid.parse_sizes(args.n or grid["n"])
    repeats = args.seeds or grid["seeds"]
    protocol = Protocol()
    task = load_task(args.split)
    source_head = to_torch(task.source_model()).head
    began, records = time.perf_counter(), []
    for repeat in range(repeats):
        seeds = run_seeds(repeat)
        for n in sizes:
            for spec in specs:
                records.append(run(spec, n, repeat, seeds, task, protocol, source_head, n == sizes[-1]))
                print(f"  {spec.label} n={n} seed={repeat}: {100 * records[-1]['target_accuracy']:.1f} %",
                      file=sys.stderr)
    wall = time.perf_counter() - began
    print(f"PyTorch {torch.__version__} twin of minitl compare ({task.description}; {repeats} seeds; "
          f"{torch.get_num_threads()} threads)")
    print(table(records, minitl_result["runs"] if minitl_result else None))
    print(f"twin wall time: {wall:.1f} s" + (f"; minitl compare wall time: {minitl_result['wall_seconds']:.1f} s "
                                             f"(ratio {minitl_result['wall_seconds'] / wall:.2f}x)"
                                             if minitl_result else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": records, "wall_seconds": wall}, indent=1))


if __name__ == "__main__":
    main()
