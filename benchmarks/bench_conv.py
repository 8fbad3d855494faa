"""Time minitl's conv2d and max_pool2d (forward + backward) against PyTorch on the CPU, in one run.

The shapes are SmallCNN's: a batch of 64 Fashion-MNIST images, 1x28x28 -> 32 channels, pooled to
32x14x14 -> 64 channels. Prints the best time of each and the ratio minitl / torch (lower is
better; 1.0 means as fast as PyTorch). Not run in CI: ``python benchmarks/bench_conv.py``.
"""
import argparse
import time

import numpy

import minitl
from minitl.functional.conv import conv2d
from minitl.functional.pool import max_pool2d

CASES = [  # name, input shape, op settings
    ("conv 1x28x28 -> 32, 3x3 pad 1", (64, 1, 28, 28), dict(out_channels=32, kernel=3, padding=1)),
    ("conv 32x14x14 -> 64, 3x3 pad 1", (64, 32, 14, 14), dict(out_channels=64, kernel=3, padding=1)),
    ("max_pool 32x28x28, 2x2", (64, 32, 28, 28), dict(pool=2)),
    ("max_pool 64x14x14, 2x2", (64, 64, 14, 14), dict(pool=2)),
]


def best_seconds(step, repeats):
    """The fastest of ``repeats`` runs: other processes on the machine can only make a run slower."""
    step()  # warm-up: first calls allocate
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def minitl_step(shape, settings, rng):
    x = minitl.tensor(rng.standard_normal(shape), requires_grad=True)
    if "pool" in settings:
        def step():
            x.grad = None
            max_pool2d(x, settings["pool"]).sum().backward()
        return step
    weight = minitl.tensor(rng.standard_normal((settings["out_channels"], shape[1], settings["kernel"],
                                                settings["kernel"])) * 0.1, requires_grad=True)
    bias = minitl.tensor(numpy.zeros(settings["out_channels"]), requires_grad=True)

    def step():
        x.grad = weight.grad = bias.grad = None
        conv2d(x, weight, bias, padding=settings["padding"]).sum().backward()
    return step


def torch_step(torch, shape, settings, rng):
    x = torch.tensor(rng.standard_normal(shape), dtype=torch.float32, requires_grad=True)
    if "pool" in settings:
        def step():
            x.grad = None
            torch.nn.functional.max_pool2d(x, settings["pool"]).sum().backward()
        return step
    weight = torch.tensor(rng.standard_normal((settings["out_channels"], shape[1], settings["kernel"],
                                               settings["kernel"])) * 0.1, dtype=torch.float32, requires_grad=True)
    bias = torch.zeros(settings["out_channels"], requires_grad=True)

    def step():
        x.grad = weight.grad = bias.grad = None
        torch.nn.functional.conv2d(x, weight, bias, padding=settings["padding"]).sum().backward()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    import torch  # noqa: PLC0415 - only the benchmark needs it

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = numpy.random.default_rng(0)
    print(f"forward + backward, float32, CPU, best of {args.repeats}; torch threads: {torch.get_num_threads()}")
    print(f"{'case':34s} {'minitl ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for name, shape, settings in CASES:
        ours = best_seconds(minitl_step(shape, settings, rng), args.repeats)
        theirs = best_seconds(torch_step(torch, shape, settings, rng), args.repeats)
        print(f"{name:34s} {ours * 1e3:10.2f} {theirs * 1e3:10.2f} {ours / theirs:7.2f}")


if __name__ == "__main__":
    main()
