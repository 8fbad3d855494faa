# %% [markdown]
# # Lesson 4 — The learning rate that destroys pretrained features, and forgetting
#
# Fine-tuning starts from weights that already know something: the pretrained SmallCNN recognises the five
# **source** classes (T-shirt/top, Trouser, Pullover, Sandal, Sneaker). We fine-tune **every layer** on the
# **target** task (Dress, Coat, Shirt, Bag, Ankle boot) at one learning rate for all layers, three times: a small
# rate, a middle one and a too-large one. For each run we measure
#
# * the **target accuracy**: what we trained for;
# * the **source accuracy** with the old source head put back: how much of the old task the backbone still
#   knows. What it lost is called **forgetting**;
# * how far each layer's weights **moved**: `||W - W0|| / ||W0||`, from the weights the run started with.
#
# Every run of one seed uses the same images, the same new head and the same batch order, so the differences
# between rates are the rate's doing.

# %%
import numpy

from minitl import inspect, viz
from minitl.compare import load_task
from minitl.compare.stats import Paired
from minitl.data import DataLoader, few_shot
from minitl.table import text_table
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded, source_accuracy

N, SEEDS, EPOCHS, BATCH = 20, (0, 1, 2), 10, 32
RATES = {"small": 0.005, "middle": 0.05, "too large": 0.5}
task = load_task("paired")
source_head = task.source_model().head
source_test = task.source_test.subset(numpy.random.default_rng(0).permutation(len(task.source_test))[:500])
source_loader = DataLoader(source_test, batch_size=250)
calibration_loader = DataLoader(task.source_calibration, batch_size=250)
target_loader = DataLoader(task.target_test, batch_size=250)
print(f"set-up: n = {N} labelled images per class of the paired target task (bundled subset), seeds {list(SEEDS)} "
      f"(seed s: images s, new head s, batch order s), {EPOCHS} epochs at batch {BATCH} per run; FineTune with one "
      f"learning rate for every layer ({', '.join(f'{k} {v}' for k, v in RATES.items())}), SGD momentum 0.9, "
      f"weight decay 5e-4, cosine schedule; target accuracy on {len(task.target_test)} test images, source "
      f"accuracy on {len(source_test)}")
before = evaluate(task.source_model(), source_loader)["accuracy"]
print(f"the pretrained network on the source task, before any fine-tuning: {before:.1%}")

# %% [markdown]
# ## 1. Fine-tune at three learning rates
#
# `source_accuracy` puts the source head back on the fine-tuned backbone and measures the source test set twice:
# as fine-tuning left it, and after re-estimating BatchNorm's running statistics on source images. The running
# statistics are not weights (no learning rate slows them down, they follow whatever images pass in training
# mode), so the second number is the honest one for *what the weights forgot*.

# %%
runs = {label: {} for label in RATES}
for label, lr in RATES.items():
    for seed in SEEDS:
        strategy = get_strategy("ft", backbone_lr_scale=1.0)  # one learning rate for every layer
        with seeded(seed):
            model = strategy.apply(task.pretrained_model())
        start = {name: array.copy() for name, array in model.state_dict().items()}
        loader = DataLoader(few_shot(task.target_train, N, seed=seed), batch_size=BATCH, shuffle=True, seed=seed)
        history = strategy.fit(model, loader, epochs=EPOCHS, lr=lr, momentum=0.9, weight_decay=5e-4)
        kept = source_accuracy(model, source_head, source_loader, calibration_loader=calibration_loader)
        runs[label][seed] = {"target": evaluate(model, target_loader)["accuracy"], "source_raw": kept["accuracy"],
                             "source": kept["recalibrated_accuracy"], "train_acc": history["train_accuracy"][-1],
                             "drift": inspect.drift(model, start)}


def per_seed(label, key):
    return {seed: run[key] for seed, run in runs[label].items()}


def mean_sd(values):
    mean, sd = viz.mean_and_spread(list(values))
    return f"{mean:.1%} ± {sd:.1%}"


rows = [(f"{label} ({RATES[label]})", mean_sd(per_seed(label, "target").values()),
         mean_sd(per_seed(label, "source_raw").values()), mean_sd(per_seed(label, "source").values()),
         mean_sd(per_seed(label, "train_acc").values())) for label in RATES]
print(text_table(("learning rate", "target acc", "source acc (raw)", "source acc (BN re-estimated)",
                  "train acc, last epoch"), rows,
                 [f"mean ± sd over {len(SEEDS)} seeds; source accuracy before fine-tuning: {before:.1%}"]))

# %% [markdown]
# ## 2. What the numbers say
#
# Each claim below is computed from the runs above, paired by seed (`z` = mean difference over its standard
# error; *beyond seed noise* means |z| > 2 and every seed agrees). Where a claim does not hold, the cell says so.

# %%
small, large = "small", "too large"
forgetting = Paired(per_seed(small, "source"), per_seed(large, "source"))
print(f"forgetting: source accuracy (BN re-estimated) at the small rate minus at the too-large rate: "
      f"{forgetting.text()}")
print("claim 'a too-large rate makes the backbone forget the source task' holds" if forgetting.better
      else "claim 'a too-large rate makes the backbone forget the source task' DOES NOT HOLD here: the drop is "
           "not beyond seed noise")
target_means = {label: numpy.mean(list(per_seed(label, "target").values())) for label in RATES}
best = max(target_means, key=target_means.get)
print(f"target accuracy is highest at the {best} rate ({RATES[best]}): {target_means[best]:.1%}")
if best == large:
    print("claim 'the too-large rate also costs target accuracy' DOES NOT HOLD here: it is the best on the target")
else:
    loss = Paired(per_seed(best, "target"), per_seed(large, "target"))
    print(f"target accuracy, {best} rate minus too-large rate: {loss.text()}")
    print("claim 'the too-large rate also costs target accuracy' holds" if loss.better else
          "claim 'the too-large rate also costs target accuracy' DOES NOT HOLD here (within seed noise): at this n "
          "the damage shows in the source task, not clearly in the target")

# %% [markdown]
# ## 3. How far the weights moved, layer by layer
#
# `inspect.drift(model, start)` gives `||W - W0|| / ||W0||` for every parameter. Here are the weights of the
# three convolutions and of the head (the head started from a fresh random draw, so it is expected to move).

# %%
LAYERS = ("backbone.block1.0.weight", "backbone.block2.0.weight", "backbone.block3.0.weight", "head.weight")


def drift(label, layer):
    return [run["drift"][layer] for run in runs[label].values()]


print(text_table(("weight",) + tuple(f"{label} ({lr})" for label, lr in RATES.items()),
                 [(layer,) + tuple(f"{numpy.mean(drift(label, layer)):.1%}" for label in RATES) for layer in LAYERS],
                 [f"||W - W0|| / ||W0||, mean over {len(SEEDS)} seeds"]))
backbone = LAYERS[:3]
every_seed = all(drift(large, layer)[i] > drift(small, layer)[i] for layer in backbone for i in range(len(SEEDS)))
ratio = min(numpy.mean(drift(large, layer)) / numpy.mean(drift(small, layer)) for layer in backbone)
print(f"every backbone convolution moved further at the too-large rate than at the small one, in every seed: "
      f"{every_seed}; at least {ratio:.0f}x further")
print("claim 'the too-large rate rewrites the pretrained features' holds" if every_seed and ratio > 2 else
      "claim 'the too-large rate rewrites the pretrained features' DOES NOT HOLD here: the backbone did not move "
      "clearly further")

# %% [markdown]
# The two charts: accuracies per learning rate (bar: mean over the seeds, line: ± one standard deviation), then
# the drift of each weight per learning rate.

# %%
viz.bar_chart({f"{label} ({lr})": {"target accuracy": list(per_seed(label, "target").values()),
                                   "source accuracy (forgetting)": list(per_seed(label, "source").values())}
               for label, lr in RATES.items()},
              title=f"fine-tuning every layer at one learning rate ({len(SEEDS)} seeds)", y_title="accuracy",
              x_title="learning rate", percent=True)

# %%
viz.bar_chart({layer.replace("backbone.", "").replace(".weight", ""):
               {f"lr {lr}": drift(label, layer) for label, lr in RATES.items()} for layer in LAYERS},
              title="how far each weight moved: ||W - W0|| / ||W0||", y_title="relative change", percent=True)

# %% [markdown]
# ## Questions
#
# 1. How many points of source accuracy (BN re-estimated) did the too-large rate cost compared with the small one,
#    and is that beyond seed noise? Compare both with the pretrained network's source accuracy before fine-tuning.
# 2. Look at the raw and the re-estimated source accuracy of the small rate. Which one is closer to the accuracy
#    before fine-tuning, and what does that tell you about the running statistics of BatchNorm?
# 3. At the too-large rate, which backbone convolution moved the most relative to its size? Did that rate still
#    fit its target training images (the last epoch's training accuracy)? Why is the target accuracy alone not
#    enough to notice what happened to the backbone?
