# %% [markdown]
# # Lesson 2 — One training step, inspected
#
# Training is one step repeated thousands of times: forward, loss, `backward()`, `optimizer.step()`. In this
# lesson we stop after **one** step and look at everything it did, with three tools of `minitl.inspect`:
#
# 1. the **backward trace**: every node `backward()` ran, in order, with the gradient arriving and leaving;
# 2. the **step report**: per parameter, its gradient norm, its update and how big the update is next to the
#    weight;
# 3. the **step viewer**: the same step as one page you can click through, shown right here in the notebook.
#
# The network is the pretrained SmallCNN of lesson 3 with a new head for the target task, and its first block
# **frozen**. The optimizer is plain SGD (no momentum, no weight decay), so the update must be exactly
# `-lr * grad`: we check that by hand at the end.

# %%
import numpy

from minitl import inspect
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.nn import functional as F
from minitl.optim import SGD
from minitl.transfer import seeded

LR, SEED, PER_CLASS = 0.1, 0, 2
task = load_task("paired")


def fresh_model():
    """The pretrained SmallCNN, a new head drawn from SEED, block1 frozen: the same weights every call."""
    with seeded(SEED):
        model = task.pretrained_model()
    model.backbone.block1.frozen = True
    model.train()
    return model


x, y = next(iter(DataLoader(few_shot(task.target_train, PER_CLASS, seed=SEED), batch_size=5 * PER_CLASS)))
model = fresh_model()
optimizer = SGD(model, lr=LR)
print(f"set-up: one batch of n = {PER_CLASS} images per class ({x.shape[0]} images, shape {tuple(x.shape)}) of the "
      f"paired target task {task.classes} (bundled subset), seed {SEED} (images and new head), one step of plain "
      f"SGD lr {LR} (momentum 0, weight decay 0); block1 frozen; no epochs: a single step")
print(inspect.explain(model, optimizer, print_text=False))

# %% [markdown]
# `explain` said in words what the step will do to each layer. Now the step itself. We keep a copy of every
# weight first, so that we can measure afterwards how far each one moved.
#
# ## 1. The backward trace
#
# `with inspect.trace() as t:` records every node that `backward()` visits. Read the table from the top: the
# first node is the loss, the last the lowest layer that needs a gradient. Notice what is **missing**: block1 is
# frozen and nothing below it learns, so its layers recorded no node at all (lesson 1, section 4) and backward
# never goes there.

# %%
before = {name: p.numpy().copy() for name, p in model.named_parameters()}
optimizer.zero_grad()
loss = F.cross_entropy(model(x), y)
with inspect.trace() as t:
    loss.backward()
t.table()
modules_with_a_node = {step["module"] for step in t.steps}
block1_nodes = [m for m in modules_with_a_node if m.startswith("backbone.block1")]
print(f"\nloss before the step: {float(loss):.4f}; backward ran {len(t.steps)} nodes; "
      f"nodes in backbone.block1: {len(block1_nodes)}")

# %% [markdown]
# ## 2. The step and its report
#
# `optimizer.step()` applies the update; `inspect.step_report` reads what the optimizer recorded (the effective
# learning rate and the update norm of each parameter) and adds what only the model knows: the gradient norm,
# the weight norm, the ratio update / weight (about `1e-3` is the classic healthy value) and, given the weights
# from before the step, the drift `||W - W0|| / ||W0||`. Frozen parameters show their gradient as *not computed*
# (it never existed), never as a fake 0, and an update of exactly 0.

# %%
optimizer.step()
report = inspect.step_report(model, optimizer, reference=before)
print(report)
print("\nper-layer update norms (the largest first):")
for row in sorted(report, key=lambda r: -r["update_norm"]):
    if row["name"].endswith("weight"):
        print(f"  {row['layer']:<20} {row['update_norm']:.3e}  (update / weight {row['update_ratio']:.1e})"
              if row["update_norm"] else f"  {row['layer']:<20} 0 (frozen)")
largest_update = max(report, key=lambda r: r["update_norm"])["name"]
largest_ratio = max(report, key=lambda r: r["update_ratio"] or 0.0)["name"]
print(f"largest update norm: {largest_update}; largest update / weight: {largest_ratio}")

# %% [markdown]
# ## 3. Checking one number by hand
#
# For plain SGD the update of a weight is `W_after - W_before = -lr * grad`. We take the head's weight, compute
# both sides ourselves from the arrays, and compare them with what the report printed. A frozen weight must not
# have moved by a single bit.

# %%
head = dict(model.named_parameters())["head.weight"]
moved = head.numpy() - before["head.weight"]
expected = -LR * head.grad.numpy()
difference = float(numpy.abs(moved - expected).max())
print(f"head.weight: ||W_after - W_before|| = {numpy.linalg.norm(moved):.6e}, ||-lr * grad|| = "
      f"{numpy.linalg.norm(expected):.6e}, report: {report['head.weight']['update_norm']:.6e}")
print(f"largest entry-wise difference {difference:.1e} (float32 round-off is about "
      f"{numpy.finfo(numpy.float32).eps * numpy.abs(before['head.weight']).max():.1e})")
print("update == -lr * grad:", "claim holds" if numpy.allclose(moved, expected, rtol=1e-4, atol=1e-7)
      else "claim DOES NOT HOLD here: the update is not -lr * grad")
frozen_still = all(numpy.array_equal(p.numpy(), before[name]) for name, p in model.named_parameters() if p.frozen)
print("frozen block1 weights bit-identical after the step:", frozen_still)
loss_after = float(F.cross_entropy(model(x), y))
print(f"loss on the same batch: {float(loss):.4f} before the step, {loss_after:.4f} after "
      f"({'lower: the step went downhill' if loss_after < float(loss) else 'NOT lower: this step did not help'})")

# %% [markdown]
# ## 4. The step viewer
#
# `inspect.view_step` runs one real training step and writes a self-contained page replaying it: the forward
# layer by layer, the backward node by node (press *Next*), and the update table. We give it a fresh model with
# the same weights, the same batch and the same optimizer settings, so it replays **the step above**. The page is
# also written to `02_step.html` in this folder (open it in a browser if the cell shows text only).

# %%
replay = fresh_model()
inspect.view_step(replay, x, y, SGD(replay, lr=LR), path="02_step.html",
                  title="Lesson 2: one SGD step of SmallCNN, block1 frozen")

# %% [markdown]
# Is the page really this step? Its numbers come from the engine, so the head's update norm printed in
# section 2 must appear in it, digit for digit.

# %%
page = open("02_step.html", encoding="utf-8").read()
shown = f"{report['head.weight']['update_norm']:.3e}"
print(f"02_step.html: {len(page):,} characters; the head's update norm {shown} is in the page: {shown in page}")

# %% [markdown]
# ## Questions
#
# 1. Which parameter had the largest update norm, and which the largest update / weight ratio (printed under the
#    report)? Where they differ, which two columns of the step report explain why?
# 2. How many backward nodes ran, and how many of them belonged to `backbone.block1`? Which line under the trace
#    table names the parameters that backward never reached, and why did it not go there?
# 3. Compare the gradient norms of the convolution biases of block2 and block3 with those of their weights. Which
#    layer comes right after each of those convolutions, and why does a constant added before it not change the
#    loss?
