"""Print the minitl files and functions that one training step of the reference MLP runs through.

    python scripts/step_trace.py                  # this checkout's minitl
    python scripts/step_trace.py --root OTHER     # another checkout (the folder holding its minitl/)
    python scripts/step_trace.py --max-files 8 --max-functions 45    # exit 1 above either

The step is the one a student reads to see how freezing works: ``zero_grad``, the forward of an MLP
(``nn.Sequential(Linear(784, 128), ReLU(), Linear(128, 10))`` on a batch of 32 flattened images)
whose first layer is frozen and whose head has ``lr_scale = 0.1``, ``cross_entropy``, ``backward``,
and an SGD step with momentum. One step runs first untraced (so first-call set-up is not counted); the
second is traced with ``sys.setprofile``, which sees every Python function call. Only functions
defined in minitl's own files count: NumPy's and Python's are not minitl's to trim.
"""
import argparse
import collections
import pathlib
import sys


def traced_step(package_dir):
    """(files -> set of function names) for one step, minitl imported from ``package_dir``."""
    import minitl  # noqa: PLC0415 - imported after sys.path is set to the checkout asked for
    from minitl import nn, optim  # noqa: PLC0415

    minitl.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    model[0].frozen = True
    model[2].lr_scale = 0.1
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = minitl.randn(32, 784)
    y = minitl.randint(0, 10, (32,))

    def step():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    step()  # untraced: first-call caches
    root = str(pathlib.Path(package_dir).resolve()) + "/"
    seen = collections.defaultdict(set)

    def profile(frame, event, arg):
        if event == "call":
            filename = frame.f_code.co_filename
            if filename.startswith(root):
                seen[filename[len(root):]].add(frame.f_code.co_qualname)

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    return seen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent),
                        help="the checkout whose minitl/ is traced (default: this one)")
    parser.add_argument("--max-files", type=int, default=None)
    parser.add_argument("--max-functions", type=int, default=None)
    args = parser.parse_args(argv)
    root = pathlib.Path(args.root).resolve()
    sys.path.insert(0, str(root))
    seen = traced_step(root / "minitl")
    n_functions = sum(len(names) for names in seen.values())
    for filename in sorted(seen):
        print(f"minitl/{filename}  ({len(seen[filename])})")
        for name in sorted(seen[filename]):
            print(f"    {name}")
    print(f"{len(seen)} files, {n_functions} functions")
    too_many = ((args.max_files is not None and len(seen) > args.max_files)
                or (args.max_functions is not None and n_functions > args.max_functions))
    return 1 if too_many else 0


if __name__ == "__main__":
    sys.exit(main())
