# %% [markdown]
# # Lesson 3 — Freeze, fine-tune or train from scratch? Accuracy and cost on few labels
#
# A SmallCNN was pretrained on five Fashion-MNIST classes (the **source** task: T-shirt/top, Trouser,
# Pullover, Sandal, Sneaker). Our **target** task is the other five (Dress, Coat, Shirt, Bag, Ankle boot),
# with only `n` labelled images per class. Three strategies:
#
# * `scratch`: a fresh network, every weight trained on the target images;
# * `fe` (feature extraction): the pretrained backbone **frozen**, only a new head trained;
# * `ft` (fine-tuning): every layer trained, the backbone at 0.1 x the learning rate.
#
# `minitl.compare.compare` runs each strategy for several seeds on the same images, measures accuracy on
# the full target test set and the cost (FLOPs per step, trainable parameters, seconds), and judges the
# claims from its own numbers. On a 2-core CPU this cell takes one to two minutes.

# %%
from minitl.compare import compare, results_text

STRATEGIES, N, SEEDS = "scratch,fe,ft", "1,20", 3
print(f"set-up: strategies {STRATEGIES}; n = {N} labelled images per class; {SEEDS} seeds; bundled data")
result = compare(strategies=STRATEGIES, n=N, seeds=SEEDS, verbose=False)
print(results_text(result))

# %% [markdown]
# ## Reading the table
#
# * **target acc**: mean ± standard deviation over the seeds. Seed *i* gives every strategy the same images,
#   the same new head and the same batch order, so the differences are *paired*.
# * **vs scratch**: the paired difference in points and its z score; *beyond seed noise* means |z| > 2 and
#   every seed agrees.
# * **fwd+bwd FLOPs/step** and **trainable**: what one step costs. A frozen backbone records no graph and runs
#   no backward below the head (lesson 1, section 4), and its features are computed once (`(cached)`).
#
# The next cell pulls the numbers behind the verdicts out of the result, so you can check them yourself.

# %%
runs = result["runs"]


def mean_accuracy(strategy, n):
    values = [r["target_accuracy"] for r in runs if r["strategy"] == strategy and r["n"] == n]
    return 100 * sum(values) / len(values)


def mean_seconds(strategy, n):
    values = [r["train_seconds"] + r.get("cache_seconds", 0.0) for r in runs if r["strategy"] == strategy
              and r["n"] == n]
    return sum(values) / len(values)


for n in (1, 20):
    for strategy in ("scratch", "fe", "ft"):
        print(f"n = {n:2d}  {strategy:8s} {mean_accuracy(strategy, n):5.1f} %  {mean_seconds(strategy, n):5.2f} s "
              "of training")
best_at_1 = max(("scratch", "fe", "ft"), key=lambda s: mean_accuracy(s, 1))
print(f"best at n = 1: {best_at_1}")

# %% [markdown]
# ## Questions
#
# 1. At n = 1, which strategy is best, by how many points over scratch, and is the difference beyond seed noise?
#    (The verdicts above say it; check it against the per-seed spread.)
# 2. How many times fewer trainable parameters does `fe` have than `ft`? Where in the table do you read it, and
#    what does it do to the training time?
# 3. From n = 1 to n = 20, does the gap between the best transfer strategy and scratch grow or shrink? What would
#    you expect at n = 1,000?
