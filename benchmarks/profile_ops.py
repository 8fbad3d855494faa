"""Where one benchmark step's time goes: a per-op table of forward and backward time, and cProfile's top functions.

    python benchmarks/profile_ops.py [--case smallcnn_b64] [--steps 20] [--threads N] [--top 10] [--torch]

Any case of ``benchmarks/cases.py`` works (``smallcnn_b64``, ``smallcnn_b256``, ``smallcnn_infer_b256``,
``mlp_b64``, ...). The script times the same step as ``benchmarks/run.py`` three ways, one after the other:

1. plain: the median step time, nothing instrumented (the figure ``run.py`` would report);
2. per op: every ``Function`` subclass's ``forward`` and ``backward`` wrapped in a timer, here, in this
   process only (minitl itself is never changed), summed per op and divided by the steps; ``apply``
   is wrapped too, so the cost of recording a node (``Function.apply`` around ``forward``) has its own row,
   and what is left of the step (the backward engine, the optimizer, module calls) is the last row;
3. cProfile: the functions with the most time of their own (``tottime``), per step.

``--torch`` also runs the PyTorch twin of the case in a worker process of its own (minitl's import
changes the allocator, which must not touch PyTorch) under ``torch.profiler``: its ATen ops with their
self time per step, the per-layer figures to set beside minitl's table.

Like ``run.py``'s workers, this runs with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset (it
starts itself again without them, before NumPy loads its BLAS; ``--keep-env`` keeps them) and with the
thread count matched; it prints the BLAS library and kernel it got. Not run in CI: a profile, not a test.
"""
import argparse
import collections
import cProfile
import functools
import json
import os
import pstats
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/: run.py, cases.py
import cases  # noqa: E402 - benchmarks/cases.py, the workloads run.py times
import run  # noqa: E402 - also puts this checkout's minitl first on sys.path

MATCHED = (*run.BLAS_VARIABLES, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _same_environment_or_restart(args, argv):
    """Start this script again, in place, when the BLAS and thread variables differ from run.py's workers'."""
    wanted = run._environment(unset=not args.keep_env, threads=args.threads)
    if all(os.environ.get(name) == wanted.get(name) for name in MATCHED):
        return
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv], wanted)


def _timed_steps(step, steps):
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


# ------------------------------------------------------------------------------------------------- per op
def _function_classes(base):
    """Every subclass of ``base``, at any depth, once."""
    found, stack = [], [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


class OpTimers:
    """Timers around each Function subclass's own ``forward`` / ``backward`` and around ``Function.apply``.

    A method is timed under the name of the op that runs it (``type(self).__name__``), so a subclass
    that inherits ``forward`` (BatchNorm from _Normalize) gets its own row; a ``super().forward`` call
    inside an already timed call is not counted twice.
    """

    def __init__(self, function_base):
        self.base = function_base
        self.seconds = {"forward": collections.Counter(), "backward": collections.Counter()}
        self.calls = collections.Counter()
        self.apply_seconds = 0.0
        self._running, self._saved = set(), []

    def _timed(self, method, phase):
        totals, running = self.seconds[phase], self._running

        @functools.wraps(method)
        def timed(op, *args, **kwargs):
            key = (id(op), phase)
            if key in running:  # an inherited method called through super(): the outer call counts it
                return method(op, *args, **kwargs)
            running.add(key)
            start = time.perf_counter()
            try:
                return method(op, *args, **kwargs)
            finally:
                totals[type(op).__name__] += time.perf_counter() - start
                running.discard(key)
                if phase == "forward":
                    self.calls[type(op).__name__] += 1
        return timed

    def install(self):
        for cls in _function_classes(self.base):
            for phase in ("forward", "backward"):
                if phase in vars(cls):
                    self._saved.append((cls, phase, vars(cls)[phase]))
                    setattr(cls, phase, self._timed(vars(cls)[phase], phase))
        apply = vars(self.base)["apply"]
        self._saved.append((self.base, "apply", apply))

        def timed_apply(cls, *inputs, **settings):
            start = time.perf_counter()
            try:
                return apply.__func__(cls, *inputs, **settings)
            finally:
                self.apply_seconds += time.perf_counter() - start
        self.base.apply = classmethod(timed_apply)

    def uninstall(self):
        for cls, name, original in reversed(self._saved):
            setattr(cls, name, original)
        self._saved.clear()

    def table(self, steps, step_seconds, top):
        """(header, rows, footer) of the per-op table, per step, biggest total first."""
        from minitl.table import text_table  # noqa: PLC0415 - minitl loads after the restart above
        forward, backward = self.seconds["forward"], self.seconds["backward"]
        ms = lambda s: f"{s / steps * 1e3:.2f}"  # noqa: E731 - seconds over all steps -> ms per step
        names = sorted(set(forward) | set(backward), key=lambda n: -(forward[n] + backward[n]))
        rows = [[n, f"{self.calls[n] / steps:g}", ms(forward[n]), ms(backward[n]), ms(forward[n] + backward[n]),
                 f"{100 * (forward[n] + backward[n]) / (step_seconds * steps):.1f}"] for n in names]
        in_ops = sum(forward.values()) + sum(backward.values())
        recording = self.apply_seconds - sum(forward.values())
        rest = step_seconds * steps - in_ops - recording
        footer = [f"all {len(names)} ops: {ms(sum(forward.values()))} ms forward + {ms(sum(backward.values()))} ms "
                  f"backward = {ms(in_ops)} ms of a {step_seconds * 1e3:.2f} ms step (timed)",
                  f"Function.apply around forward (inputs, recording the node): {ms(recording)} ms",
                  f"rest (backward engine, optimizer, module calls, Python): {ms(rest)} ms"]
        header = ["op", "calls", "forward ms", "backward ms", "total ms", "% of step"]
        return text_table(header, rows[:top], footer)


# ------------------------------------------------------------------------------------------------- cProfile
def profile_table(step, steps, top):
    """cProfile over ``steps`` steps: the ``top`` functions by time of their own, per step."""
    from minitl.table import text_table  # noqa: PLC0415
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (primitive calls, calls, tottime, cumtime, callers)
    ranked = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    root, rows = os.path.dirname(run.HERE), []
    for (file, line, name), (_, calls, own, cumulative, _) in ranked:
        if file != "~":  # "~": a built-in; files outside this checkout by their package path (numpy/...)
            file = os.path.relpath(file, root) if file.startswith(root) else file.rsplit("site-packages/", 1)[-1]
        where = name if file == "~" else f"{file}:{line} {name}"
        rows.append([where, f"{calls / steps:g}", f"{own / steps * 1e3:.2f}", f"{cumulative / steps * 1e3:.2f}"])
    return text_table(["function (tottime order)", "calls", "own ms", "cumulative ms"], rows)


# ------------------------------------------------------------------------------------------------- PyTorch
def torch_worker(args):
    """In a process without minitl: the case's PyTorch step under torch.profiler; one JSON line of ATen ops."""
    blas = run._limit_threads("torch", args.threads)
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415
    step, _ = cases.build(args.case, "torch", "cpu")
    for _ in range(args.warmup):
        step()
    plain = statistics.median(_timed_steps(step, args.steps))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    ops = [[e.key, e.count, e.self_cpu_time_total * 1e-6, e.cpu_time_total * 1e-6] for e in prof.key_averages()]
    print(json.dumps({"blas": blas, "step_seconds": plain, "ops": ops}))


def torch_table(args):
    """Run ``torch_worker`` in its own process; its ops as a table, per step, most self time first."""
    from minitl.table import text_table  # noqa: PLC0415
    command = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--case", args.case, "--steps",
               str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    done = subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"the PyTorch worker failed:\n{done.stderr[-3000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    n = args.steps
    rows = [[name, f"{count / n:g}", f"{own / n * 1e3:.2f}", f"{total / n * 1e3:.2f}"]
            for name, count, own, total in sorted(out["ops"], key=lambda op: -op[2])[:args.top]]
    return (f"PyTorch, same case, own process: {out['step_seconds'] * 1e3:.2f} ms a step (median, not profiled); "
            f"BLAS: {'; '.join(out['blas'])}\n" +
            text_table(["ATen op (self time order)", "calls", "self ms", "total ms"], rows))


# ------------------------------------------------------------------------------------------------- main
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="smallcnn_b64", choices=list(cases.CASES))
    parser.add_argument("--steps", type=int, default=20, help="steps per measurement (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="BLAS threads (default: all)")
    parser.add_argument("--top", type=int, default=15, help="rows of each table (default 15)")
    parser.add_argument("--torch", action="store_true", help="also profile the PyTorch twin, in its own process")
    parser.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _same_environment_or_restart(args, argv)
    if args.torch_worker:
        return torch_worker(args)
    blas = run._limit_threads("minitl", args.threads)
    from minitl.core.tensor import Function  # noqa: PLC0415
    from minitl.fast import allocator  # noqa: PLC0415 - after the restart: the BLAS variables are settled
    step, _ = cases.build(args.case, "minitl", "cpu")
    for _ in range(args.warmup):
        step()  # also imports any op module loaded on first use, so its classes get timers
    plain = _timed_steps(step, args.steps)
    timers = OpTimers(Function)
    timers.install()
    try:
        timed = _timed_steps(step, args.steps)
    finally:
        timers.uninstall()
    print(f"== {cases.CASES[args.case]}: minitl, {args.threads} threads, "
          f"{'environment as it is' if args.keep_env else ' and '.join(run.BLAS_VARIABLES) + ' unset'} ==")
    print(f"BLAS: {'; '.join(blas)}; allocator: "
          f"{'freed memory kept (mallopt)' if allocator.is_applied() else 'glibc defaults'}")
    print(f"step, plain: median {statistics.median(plain) * 1e3:.2f} ms (min {min(plain) * 1e3:.2f}, "
          f"max {max(plain) * 1e3:.2f}) over {args.steps} steps; with the timers: {sum(timed) / len(timed) * 1e3:.2f} "
          "ms (mean)\n")
    print("per op, per step (timers around each Function's forward and backward):")
    print(timers.table(args.steps, sum(timed) / len(timed), args.top) + "\n")
    print("cProfile, per step:")
    print(profile_table(step, args.steps, args.top) + "\n")
    if args.torch:
        print(torch_table(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
