"""Demo 1: reverse-mode autograd on a two-layer network, checked by finite differences.

Run:  python demos/01_autograd.py [--smoke]   (--smoke: the same, it is quick)
What to notice: backward fills ``.grad`` of every leaf that requires grad; the numbers agree with
finite differences; a tensor that does not require grad records no graph node at all.
"""
import minitl
from minitl.nn import functional as F


def main():
    print("set-up: no training and no data set: one batch of 4 random inputs with 3 features, 2 classes, seed 0, "
          "a two-layer network, one forward and one backward")
    minitl.manual_seed(0)
    x = minitl.tensor(minitl.backend.random_array("normal", (4, 3), "float32", "cpu"))
    w1 = minitl.tensor(minitl.backend.random_array("normal", (5, 3), "float32", "cpu"), requires_grad=True)
    w2 = minitl.tensor(minitl.backend.random_array("normal", (2, 5), "float32", "cpu"), requires_grad=True)
    target = minitl.tensor([0, 1, 1, 0])

    hidden = F.relu(F.linear(x, w1))
    logits = F.linear(hidden, w2)
    loss = F.cross_entropy(logits, target)
    print("loss:", loss)
    print("graph: loss <-", loss.grad_fn.name, "<-", logits.grad_fn.name)
    loss.backward()
    print("d loss / d w2:\n", w2.grad.numpy())

    with minitl.no_grad():
        frozen_out = F.linear(x, w1)
    print("under no_grad the output records nothing: grad_fn =", frozen_out.grad_fn)

    def loss_of(w1_, w2_):
        return F.cross_entropy(F.linear(F.relu(F.linear(x.double(), w1_)), w2_), target)

    ok = minitl.gradcheck(loss_of, [w1.detach().double().requires_grad_(), w2.detach().double().requires_grad_()])
    print("gradcheck against finite differences:", "passed" if ok else "failed")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="the same (it takes a second)")
    parser.parse_args()
    main()
