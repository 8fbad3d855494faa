# %% [markdown]
# # Lesson 5 — BatchNorm when freezing: `requires_grad = False` is not freezing
#
# To train only a new head on a pretrained backbone, PyTorch code usually writes
#
# ```python
# for p in model.backbone.parameters():
#     p.requires_grad = False
# model.train()
# ```
#
# The backbone's **weights** then get no gradient and do not move. But a BatchNorm layer holds more than weights:
# its **running mean and variance**, the statistics of the source images it was pretrained on. In `train()` mode a
# BatchNorm normalises each batch with that batch's own statistics and keeps updating its running ones, whatever
# `requires_grad` says. Fine-tuning the head on target images therefore quietly rewrites the backbone's statistics.
#
# minitl's `frozen` flag (`model.backbone.freeze()`, or `model.backbone.frozen = True`) means all of it: no
# gradient, skipped by the optimizer, **and** a frozen BatchNorm normalises with its running statistics and leaves
# them alone (effect 4 of `frozen`). We train the same head twice from the same start, once each way, and compare.

# %%
import numpy

from minitl import inspect, optim, viz
from minitl.compare import load_task
from minitl.compare.stats import Paired
from minitl.data import DataLoader, few_shot
from minitl.models import SmallCNN
from minitl.nn import BatchNorm2d
from minitl.table import text_table
from minitl.train import evaluate, fit
from minitl.transfer import seeded, source_accuracy

N, SEEDS, EPOCHS, BATCH, LR = 20, (0, 1, 2), 8, 16, 0.05
MODES = ("requires_grad loop", "freeze()")
task = load_task("paired")
source_head = task.source_model().head
print(f"set-up: target task {task.classes}, n = {N} images per class (bundled subset), seeds {list(SEEDS)} (seed s: "
      f"images s, new head s, batch order s), {EPOCHS} epochs, batch {BATCH}, SGD lr {LR} momentum 0.9, only the "
      f"head trains; {len(task.target_test)} target and {len(task.source_test)} source test images")


def pretrained_with_new_head(mode, seed):
    """The pretrained SmallCNN with a new head drawn from ``seed``, its backbone kept fixed the way ``mode`` says."""
    with seeded(seed):
        model = SmallCNN(num_classes=5, weights="fashion-paired")
    if mode == "requires_grad loop":
        for p in model.backbone.parameters():
            p.requires_grad = False
    else:
        model.backbone.freeze()
    model.train()
    return model


for mode in MODES:
    print(f"\n{mode}: what the next step will do, layer by layer")
    inspect.explain(pretrained_with_new_head(mode, 0))

# %% [markdown]
# `explain` already shows the difference in words: with the loop, the BatchNorm layers (`block1.1`, `block2.1`,
# `block3.1`) *use batch statistics and update their running ones*; with `freeze()` they *use running statistics*.
#
# ## 1. Train the head both ways
#
# For each run we keep the whole state before training and measure afterwards, with `inspect.drift`, how far each
# entry moved: `||v - v0|| / ||v0||` for the weights **and** for the running statistics. `source_accuracy` puts the
# source head back and measures the source task twice: with the running statistics as training left them, and
# after re-estimating them on source images (then only the weights count).

# %%
BATCHNORMS = [name for name, m in task.source_model().backbone.named_modules() if isinstance(m, BatchNorm2d)]
runs = {mode: {} for mode in MODES}
for seed in SEEDS:
    for mode in MODES:
        model = pretrained_with_new_head(mode, seed)
        start = {name: array.copy() for name, array in model.state_dict().items()}
        optimizer = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
        loader = DataLoader(few_shot(task.target_train, N, seed=seed), batch_size=BATCH, shuffle=True, seed=seed)
        fit(model, optimizer, loader, epochs=EPOCHS, verbose=False)
        kept = source_accuracy(model, source_head, DataLoader(task.source_test, batch_size=250),
                               calibration_loader=DataLoader(task.source_calibration, batch_size=250))
        moved = inspect.drift(model, start)
        runs[mode][seed] = {
            "target": evaluate(model, DataLoader(task.target_test, batch_size=250))["accuracy"],
            "source": kept["accuracy"], "source_recalibrated": kept["recalibrated_accuracy"],
            "weights_moved": max(moved[f"backbone.{name}"] for name, _ in model.backbone.named_parameters()),
            **{f"{bn}.{stat}": moved[f"backbone.{bn}.{stat}"] for bn in BATCHNORMS
               for stat in ("running_mean", "running_var")}}


def per_seed(mode, key):
    return {seed: run[key] for seed, run in runs[mode].items()}


def mean(mode, key):
    return float(numpy.mean(list(per_seed(mode, key).values())))


rows = [(mode, f"{mean(mode, 'target'):.1%}", f"{mean(mode, 'source'):.1%}", f"{mean(mode, 'source_recalibrated'):.1%}",
         "0 (bit-identical)" if max(per_seed(mode, "weights_moved").values()) == 0 else
         f"{max(per_seed(mode, 'weights_moved').values()):.1e}",
         f"{numpy.mean([mean(mode, f'{bn}.running_mean') for bn in BATCHNORMS]):.1%}",
         f"{numpy.mean([mean(mode, f'{bn}.running_var') for bn in BATCHNORMS]):.1%}") for mode in MODES]
print(text_table(("backbone kept fixed by", "target acc", "source acc", "source acc, BN re-estimated",
                  "largest weight change", "running mean moved", "running var moved"), rows,
                 [f"mean over {len(SEEDS)} seeds; 'moved' = ||v - v0|| / ||v0||, mean over the "
                  f"{len(BATCHNORMS)} BatchNorm layers of the backbone; weight change: the largest over the "
                  "backbone's parameters and the seeds"]))

# %% [markdown]
# ## 2. Layer by layer, and what the numbers say
#
# The table below splits the movement of the running statistics by BatchNorm layer. Then each claim of this lesson
# is checked against the runs, paired by seed (`z` = mean difference over its standard error; *beyond seed noise*
# means |z| > 2 and every seed agrees).

# %%
print(text_table(("BatchNorm", "statistic") + MODES,
                 [(bn, stat) + tuple(f"{mean(mode, f'{bn}.{stat}'):.1%}" for mode in MODES)
                  for bn in BATCHNORMS for stat in ("running_mean", "running_var")],
                 [f"||v - v0|| / ||v0||, mean over {len(SEEDS)} seeds"]))
loop, frozen = MODES
weights_fixed = all(run["weights_moved"] == 0 for mode in MODES for run in runs[mode].values())
print(f"\nthe backbone's weights did not move at all in either way, in any seed: {weights_fixed}")
frozen_stats = max(run[f"{bn}.{stat}"] for run in runs[frozen].values() for bn in BATCHNORMS
                   for stat in ("running_mean", "running_var"))
loop_stats = min(max(run[f"{bn}.{stat}"] for bn in BATCHNORMS for stat in ("running_mean", "running_var"))
                 for run in runs[loop].values())
print(f"freeze(): the running statistics moved by at most {frozen_stats:.1%}; requires_grad loop: in every run "
      f"some running statistic moved by {loop_stats:.1%} or more")
print("claim 'freeze() keeps the running statistics, the requires_grad loop rewrites them' holds"
      if frozen_stats == 0 and loop_stats > 0 else
      "claim 'freeze() keeps the running statistics, the requires_grad loop rewrites them' DOES NOT HOLD here")
for key, label in (("source", "source accuracy with the old head"), ("target", "target accuracy"),
                   ("source_recalibrated", "source accuracy after re-estimating BatchNorm (the weights alone)")):
    pair = Paired(per_seed(loop, key), per_seed(frozen, key))
    verdict = ("lower with the requires_grad loop, beyond seed noise" if pair.worse else
               "higher with the requires_grad loop, beyond seed noise" if pair.better else
               "no difference beyond seed noise")
    print(f"{label}, loop minus freeze(): {pair.text()}: {verdict}")

# %% [markdown]
# The running means of every BatchNorm layer, both ways (bar: mean over the seeds, line: ± one standard deviation).
# A bar at 0 is a statistic that stayed exactly as pretrained.

# %%
viz.bar_chart({bn: {mode: list(per_seed(mode, f"{bn}.running_mean").values()) for mode in MODES}
               for bn in BATCHNORMS},
              title="how far BatchNorm's running mean moved while only the head trained", y_title="||v - v0|| / ||v0||",
              x_title="BatchNorm layer of the backbone", percent=True)

# %% [markdown]
# ## Questions
#
# 1. Both ways left every backbone weight exactly where it was. What moved anyway with the `requires_grad` loop,
#    by how much in the BatchNorm layer that moved the most, and what did it do to the source accuracy with the
#    old head?
# 2. After re-estimating BatchNorm's statistics on source images, how far apart are the two ways on the source
#    task? What does that tell you about where the damage was?
# 3. Was the target accuracy better or worse with the loop, and is the difference beyond seed noise? Which
#    statistics does each way use to normalise the training batches, and which at test time?
