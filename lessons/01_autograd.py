# %% [markdown]
# # Lesson 1 — Autograd: by hand, then with `backward()`
#
# A network learns by following gradients: how much the loss changes when one weight moves a little.
# In this lesson we compute one gradient by hand with the chain rule, then let minitl's reverse-mode
# autograd do it, and check both against finite differences. Everything runs on the CPU in a second.

# %%
import numpy

import minitl
from minitl.nn import functional as F

minitl.manual_seed(0)
print("minitl", minitl.__version__)

# %% [markdown]
# ## 1. One neuron, by hand
#
# Take one input `x`, a weight `w`, a bias `b` and a target `t`:
#
# `y = w * x + b`, `loss = (y - t) ** 2`.
#
# The chain rule gives `d loss / d w = 2 (y - t) * x` and `d loss / d b = 2 (y - t)`.

# %%
x, w, b, t = 3.0, 0.5, -1.0, 2.0
y = w * x + b
loss_by_hand = (y - t) ** 2
grad_w_by_hand = 2 * (y - t) * x
grad_b_by_hand = 2 * (y - t)
print(f"y = {y}, loss = {loss_by_hand}")
print(f"by hand: d loss/d w = {grad_w_by_hand}, d loss/d b = {grad_b_by_hand}")

# %% [markdown]
# ## 2. The same with `backward()`
#
# A tensor created with `requires_grad=True` is a leaf whose gradient we want. Every operation on it
# records a node of the graph (`grad_fn`); `backward()` walks that graph from the loss back to the leaves
# and fills their `.grad`.

# %%
w_t = minitl.tensor(w, requires_grad=True)
b_t = minitl.tensor(b, requires_grad=True)
loss = (w_t * x + b_t - t) ** 2
print("loss:", float(loss), "recorded by", loss.grad_fn.name)
loss.backward()
print(f"autograd: d loss/d w = {float(w_t.grad)}, d loss/d b = {float(b_t.grad)}")
print("same as by hand:", float(w_t.grad) == grad_w_by_hand and float(b_t.grad) == grad_b_by_hand)

# %% [markdown]
# ## 3. A tiny network, checked by finite differences
#
# For a real network nobody derives the gradient by hand. We check it instead: nudge each weight by a tiny
# `eps` both ways and compare `(loss(w + eps) - loss(w - eps)) / (2 eps)` with what `backward()` gave.
# `minitl.gradcheck` does this in float64 for every entry.

# %%
x = minitl.tensor(numpy.random.default_rng(0).normal(size=(4, 3)), dtype="float32")
w1 = minitl.tensor(numpy.random.default_rng(1).normal(size=(5, 3)), dtype="float32", requires_grad=True)
w2 = minitl.tensor(numpy.random.default_rng(2).normal(size=(2, 5)), dtype="float32", requires_grad=True)
target = minitl.tensor([0, 1, 1, 0])

logits = F.linear(F.relu(F.linear(x, w1)), w2)
loss = F.cross_entropy(logits, target)
loss.backward()
print("loss:", round(float(loss), 4))
print("d loss / d w2:\n", numpy.round(w2.grad.numpy(), 4))


def loss_of(w1_, w2_):
    return F.cross_entropy(F.linear(F.relu(F.linear(x.double(), w1_)), w2_), target)


passed = minitl.gradcheck(loss_of, [w1.detach().double().requires_grad_(), w2.detach().double().requires_grad_()])
print("gradcheck against finite differences:", "passed" if passed else "FAILED")

# %% [markdown]
# ## 4. What is not recorded costs nothing
#
# A node is recorded only when an input requires a gradient. Under `minitl.no_grad()`, or for inputs that
# need no gradient (a frozen layer's weights), the output has no `grad_fn`: no graph, no saved activations,
# no backward work. This one rule is what makes a frozen backbone cheap (lesson 3).

# %%
with minitl.no_grad():
    out = F.linear(x, w1)
print("under no_grad: grad_fn =", out.grad_fn)
frozen_w = w1.detach()              # requires_grad is False, as for a frozen layer's weight
print("with a weight that needs no gradient: grad_fn =", F.linear(x, frozen_w).grad_fn)
print("with a weight that needs one:        grad_fn =", F.linear(x, w1).grad_fn.name)

# %% [markdown]
# ## Questions
#
# 1. In section 1, `d loss/d w` is three times `d loss/d b`. Which number in the set-up makes it three, and why?
# 2. In section 2, what would `w_t.grad` be after calling `backward()` a second time on a new loss built the same
#    way, without resetting it? (Try it: gradients accumulate.)
# 3. Section 4 printed `grad_fn = None` twice. What does that save during training, and why does it matter for
#    a frozen backbone?
