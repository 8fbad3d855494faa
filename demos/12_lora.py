"""Demo 12: LoRA, an adapter and a visual prompt beside a frozen backbone and a full fine-tune.

Run:  python demos/12_lora.py            (about a minute on a 2-core CPU; --smoke: a few seconds)
What to notice: LoRA, the adapters and the prompt train a few percent of the parameters (the
prompt: 0.2%), yet the gradient has to travel back through the frozen layers to reach the new
parameters, so their backward FLOPs are far from the frozen backbone's zero. Which end each one is
closer to, metric by metric (backward FLOPs, step time, saved activations), is printed under the
table, computed from it: they differ (a frozen convolution keeps no im2col copy of its input, but
LoRA's A does). All three start exactly at the pretrained model (B = 0, up = 0, border = 0).
After training, ``lora.merge`` folds the update in: the same predictions at the original layer's
inference cost.
"""
import argparse
import time

import numpy

import minitl
from minitl import transfer
from minitl.data import DataLoader, Normalize, fashion_split, few_shot
from minitl.models import SmallCNN
from minitl.optim import SGD
from minitl.table import text_table
from minitl.train import evaluate

SETUPS = (("frozen backbone", "fe", {}), ("LoRA r=4", "lora", {"rank": 4}),
          ("adapters r=8", "adapter", {"bottleneck": 8}), ("visual prompt p=2", "prompt", {"pad": 2}),
          ("full fine-tune", "ft", {"backbone_lr_scale": 1.0}))


METRICS = (("backward FLOPs", "bwd"), ("step time", "step"), ("saved activations", "act"))


def cost_conclusions(costs):
    """``costs``: ``{setup label: {"bwd": MFLOPs, "step": ms, "act": MiB}}`` with "frozen backbone" and
    "full fine-tune" among them. Per metric, which of the two each other setup is closer to; and why LoRA's
    step is slower than a full fine-tune's, when it is."""
    low, high = costs["frozen backbone"], costs["full fine-tune"]
    lines = []
    for title, key in METRICS:
        near = {"full fine-tune": [], "frozen backbone": []}
        for label, cost in costs.items():
            if label not in ("frozen backbone", "full fine-tune"):
                closer = "full fine-tune" if abs(cost[key] - high[key]) < abs(cost[key] - low[key]) else \
                    "frozen backbone"
                near[closer].append(f"{label} {cost[key]:.4g}")
        parts = [f"closer to the {end} ({ref[key]:.4g}): {', '.join(names)}"
                 for end, ref, names in (("full fine-tune", high, near["full fine-tune"]),
                                         ("frozen backbone", low, near["frozen backbone"])) if names]
        lines.append(f"{title}: " + "; ".join(parts))
    lora = next((cost for label, cost in costs.items() if label.startswith("LoRA")), None)
    if lora is not None and lora["step"] > high["step"]:
        lines.append(f"LoRA's step is {lora['step'] / high['step']:.1f}x a full fine-tune's though its backward needs "
                     f"{lora['bwd'] / high['bwd']:.0%} of the FLOPs: each wrapped convolution runs two more beside the "
                     "frozen one (A over the same 3x3 windows, with its own im2col copy of the input, and B as a 1x1), "
                     "forward and backward; on a network this small those extra passes cost more time than the weight "
                     "gradients LoRA saves. Its savings are in what is trained and stored, not in step time")
    return lines


def pretrained():
    return SmallCNN(num_classes=5, weights="fashion-paired")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run (a few seconds), for the tests")
    args = parser.parse_args(argv)
    n, epochs, test_images = (2, 1, 100) if args.smoke else (20, 8, 2000)
    minitl.manual_seed(0)
    normalize = Normalize(**minitl.weights.entry("fashion-paired")["normalization"])
    train = fashion_split("paired-target", subset="mini", transform=normalize)
    test = fashion_split("paired-target", train=False, subset="mini", transform=normalize)
    test = test.subset(numpy.arange(min(test_images, len(test))))
    subset = few_shot(train, n, seed=0)
    images, labels = (minitl.tensor(a) for a in train.get_batch(numpy.arange(32)))
    print(f"set-up: n = {n} labelled images per class of the paired target task (the bundled subset), 1 seed "
          f"(0), {epochs} epoch(s), SGD lr 0.01; accuracy on {len(test)} target test images; step time: the median "
          f"of {1 if args.smoke else 5} step(s) on a batch of {images.shape[0]}")
    rows, costs, merged_check = [], {}, None
    for label, name, options in SETUPS:
        minitl.manual_seed(0)
        strategy = transfer.get_strategy(name, **options)
        model = strategy.apply(pretrained())
        started = time.perf_counter()
        strategy.fit(model, DataLoader(subset, batch_size=16, shuffle=True, seed=0), epochs=epochs, lr=0.01)
        train_seconds = time.perf_counter() - started
        accuracy = evaluate(model, DataLoader(test, batch_size=500))["accuracy"]
        optimizer = SGD(model, lr=0.01, momentum=0.9)
        cost = transfer.count_flops(model, tuple(images.shape), optimizer)
        step = transfer.measure_step(model, optimizer, images, labels, repeats=1 if args.smoke else 5)
        total = sum(int(p.data.size) for p in model.parameters())
        costs[label] = {"bwd": cost.backward_flops / 1e6, "step": step["total"] * 1e3,
                        "act": cost.memory["activations"] / 2**20}
        rows.append((label, f"{accuracy:.1%}", f"{cost.trainable_parameters:,}", f"{cost.trainable_parameters / total:.2%}",
                     f"{cost.backward_flops / 1e6:.0f}", f"{step['total'] * 1e3:.0f}",
                     f"{cost.memory['activations'] / 2**20:.2f}", f"{cost.memory['total'] / 2**20:.2f}",
                     f"{train_seconds:.1f}"))
        if name == "lora":
            model.eval()
            with minitl.no_grad():
                before = model(images).numpy()
                transfer.lora.merge(model)
                merged_check = float(numpy.abs(model(images).numpy() - before).max())
    header = ("setup", "target acc.", "trainable", "trainable %", "bwd MFLOPs", "step ms", "saved act. MiB",
              "step memory MiB", "train s")
    notes = [f"{n} images per class of the paired target task, {epochs} epochs, SGD lr 0.01 cosine; accuracy on "
             f"{len(test)} target test images; step: batch {images.shape[0]} (median); memory from count_flops",
             f"LoRA merged into its weights: largest change of a logit {merged_check:.2g} (float32 round-off)"]
    print(text_table(header, rows, notes))
    for line in cost_conclusions(costs):
        print(line)


if __name__ == "__main__":
    main()
