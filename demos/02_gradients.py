"""Demo 2: gradients step by step through a small network: the backward trace, node by node, and the step viewer.

Run:  python demos/02_gradients.py [--smoke] [--out DIR]
What to notice: backward visits the nodes in reverse order of the forward; each node receives a
gradient and sends one on to each input that needs it; the frozen first layer records no node at all,
so the trace is shorter and its weights show "not computed" in the step viewer page.
"""
import argparse
from pathlib import Path

import minitl
from minitl import inspect, nn
from minitl.nn import functional as F
from minitl.optim import SGD


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="the same, quickly (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("set-up: no data set: one batch of 5 random inputs with 4 features, 3 classes, seed 0, one training step "
          "(SGD lr 0.1 momentum 0.9) of a Linear-ReLU-Linear network")
    minitl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = minitl.tensor(minitl.backend.random_array("normal", (5, 4), "float32", "cpu"))
    y = minitl.tensor([0, 1, 2, 1, 0])

    with inspect.trace() as t:
        F.cross_entropy(model(x), y).backward()
    print("the backward trace, all layers trainable:")
    t.table()
    print("\nthe last node (the first Linear) up close:")
    t.step(len(t.steps) - 1)

    model[0].frozen = True  # the first layer: no gradient, no graph node below it
    model.zero_grad()
    with inspect.trace() as frozen_trace:
        F.cross_entropy(model(x), y).backward()
    print(f"\nwith the first Linear frozen: {len(frozen_trace.steps)} nodes instead of {len(t.steps)}; "
          f"model[0].weight.grad is {model[0].weight.grad}")

    optimizer = SGD(model, lr=0.1, momentum=0.9)
    inspect.view_step(model, x, y, optimizer, path=out / "02_step.html")
    print(f"\nstep viewer (open it in a browser, press Next): {out / '02_step.html'}")


if __name__ == "__main__":
    main()
