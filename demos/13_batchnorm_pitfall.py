"""Demo 13: the BatchNorm pitfall — ``requires_grad = False`` is not freezing.

Run:  python demos/13_batchnorm_pitfall.py [--smoke]
What to notice: the pretrained SmallCNN's head is fine-tuned on the target task twice, from the same
start, with the same images, head and batch order. (a) The PyTorch idiom: ``for p in
model.backbone.parameters(): p.requires_grad = False`` and ``model.train()``. The backbone's weights
do not move, but its BatchNorm layers still normalise each batch with its own statistics and keep
updating their running ones with target images. (b) ``model.backbone.frozen = True``: BatchNorm uses
the pretrained statistics and keeps them (effect 4 of ``frozen``). The backbone weights are identical
in both; what differs is the running statistics, and with them the source accuracy when the source
head is put back (and the target accuracy the head reaches). Re-estimating the statistics on source
images (``recalibrate_bn``) shows the weights are not to blame.
"""
import argparse

import numpy

from minitl import optim
from minitl.compare import load_task
from minitl.compare.stats import Paired
from minitl.data import DataLoader, few_shot
from minitl.models import SmallCNN
from minitl.nn import BatchNorm2d
from minitl.train import evaluate, fit
from minitl.transfer import seeded, source_accuracy

MODES = ("requires_grad loop", "frozen = True")


def bn_statistics(model):
    """``{layer name: (running_mean, running_var)}`` copies, for every BatchNorm of the backbone."""
    return {name: (m.running_mean.numpy().copy(), m.running_var.numpy().copy())
            for name, m in model.backbone.named_modules() if isinstance(m, BatchNorm2d)}


def drift(now, pretrained):
    """Mean over BatchNorm layers of ``||s - s0|| / ||s0||`` for the running mean and the running var."""
    def relative(a, b):
        return float(numpy.linalg.norm(a - b) / numpy.linalg.norm(b))
    return (float(numpy.mean([relative(now[k][0], pretrained[k][0]) for k in pretrained])),
            float(numpy.mean([relative(now[k][1], pretrained[k][1]) for k in pretrained])))


def one_run(mode, seed, task, n, epochs, lr):
    """Fine-tune only the head, the backbone kept fixed the way ``mode`` says; return the numbers."""
    with seeded(seed):
        model = SmallCNN(num_classes=5, weights="fashion-paired")  # a new head, drawn from the seed
    pretrained_stats = bn_statistics(model)
    pretrained_weights = {k: p.numpy().copy() for k, p in model.backbone.named_parameters()}
    if mode == "requires_grad loop":
        for p in model.backbone.parameters():
            p.requires_grad = False
    else:
        model.backbone.frozen = True
    model.train()
    train = few_shot(task.target_train, n, seed=seed)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(model, optimizer, DataLoader(train, batch_size=16, shuffle=True, seed=seed), epochs=epochs, verbose=False)
    kept = source_accuracy(model, task.source_model().head, DataLoader(task.source_test, batch_size=250),
                           calibration_loader=DataLoader(task.source_calibration, batch_size=250))
    mean_drift, var_drift = drift(bn_statistics(model), pretrained_stats)
    return {"target": evaluate(model, DataLoader(task.target_test, batch_size=250))["accuracy"],
            "source": kept["accuracy"], "source_recalibrated": kept["recalibrated_accuracy"],
            "mean_drift": mean_drift, "var_drift": var_drift,
            "weights_unchanged": all(numpy.array_equal(p.numpy(), pretrained_weights[k])
                                     for k, p in model.backbone.named_parameters())}


def verdict(runs, key, label):
    """One sentence on ``key`` (loop minus frozen), computed from the paired runs: beyond noise or not."""
    pair = Paired({s: r[key] for s, r in runs[MODES[0]].items()}, {s: r[key] for s, r in runs[MODES[1]].items()})
    if pair.beyond_noise:
        direction = "lower" if pair.mean < 0 else "higher"
        return f"{label}: {direction} with the requires_grad loop, {pair.text()}"
    return f"{label}: no difference beyond seed noise between the two, {pair.text()}"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="one seed, one epoch, 5 images per class (CI)")
    args = parser.parse_args(argv)
    n, epochs, seeds, lr = (5, 1, [0], 0.05) if args.smoke else (20, 8, [0, 1, 2], 0.05)
    task = load_task("paired")
    print(f"set-up: target task {task.classes}, n = {n} images per class, seeds {seeds}, {epochs} epoch(s), "
          f"batch 16, SGD lr {lr} momentum 0.9 on the head only; {len(task.target_test)} target and "
          f"{len(task.source_test)} source test images")
    runs = {mode: {} for mode in MODES}
    for seed in seeds:
        for mode in MODES:
            runs[mode][seed] = r = one_run(mode, seed, task, n, epochs, lr)
            print(f"seed {seed}, {mode:<18}: target {r['target']:.1%}, source (old head) {r['source']:.1%}, "
                  f"after recalibrate_bn {r['source_recalibrated']:.1%}; BatchNorm drift: running mean "
                  f"{r['mean_drift']:.1%}, running var {r['var_drift']:.1%}; "
                  f"backbone weights unchanged: {r['weights_unchanged']}")
    print()
    for mode in MODES:
        rows = runs[mode].values()
        print(f"{mode:<18} mean over {len(seeds)} seed(s): target {numpy.mean([r['target'] for r in rows]):.1%}, "
              f"source {numpy.mean([r['source'] for r in rows]):.1%}, running-mean drift "
              f"{numpy.mean([r['mean_drift'] for r in rows]):.1%}, running-var drift "
              f"{numpy.mean([r['var_drift'] for r in rows]):.1%}")
    frozen_drift = max(max(r["mean_drift"], r["var_drift"]) for r in runs[MODES[1]].values())
    loop_drift = min(max(r["mean_drift"], r["var_drift"]) for r in runs[MODES[0]].values())
    print(f"frozen = True: largest drift of the running statistics {frozen_drift:.1%} "
          f"({'exactly as pretrained' if frozen_drift == 0 else 'they MOVED'}); requires_grad loop: smallest "
          f"drift {loop_drift:.1%} ({'they moved in every run' if loop_drift > 0 else 'unmoved in some run'})")
    print(verdict(runs, "source", "source accuracy with the old head"))
    print(verdict(runs, "target", "target accuracy"))
    print(verdict(runs, "source_recalibrated", "source accuracy after recalibrate_bn (the weights alone)"))


if __name__ == "__main__":
    main()
