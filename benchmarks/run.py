"""minitl against PyTorch, measured in the same run: times, ratios minitl / PyTorch, and the graph's memory.

    python benchmarks/run.py [--quick] [--device cpu|cuda] [--json out.json] [--threads N]

The protocol. Each framework runs in its own worker process (this script with ``--worker``), which
times every case in turn: a few warm-up steps, then the median of >= 20 timed steps. Workers alternate
in blocks, minitl then PyTorch then PyTorch then minitl, for 3 rounds, and each ratio is taken inside a
round, so a machine that slows down for a while slows both sides of that round's ratio. The report
gives, per case, the median over rounds of each framework's time, and the ratio's median with its
min-max over rounds. Both frameworks run float32 with the same number of threads (NumPy's BLAS through
``threadpoolctl``, ``torch.set_num_threads``); on the GPU, TF32 is off in PyTorch, as CuPy does not use it.

The BLAS kernel. Some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``) to work around
old OpenBLAS builds; that picks an older, slower kernel for NumPy's OpenBLAS than a user's machine
gets. The workers therefore run with both unset (the headline figures), and the whole table is printed
again with the environment as it is; each worker reports the BLAS libraries and kernels it loaded.

Only a quiet machine counts. Around every worker block ``machine_load.Sampler`` measures the CPU time that
other processes took (``/proc/stat`` minus the worker's own) and the load average; the report prints them,
and where other work ran it marks the run BUSY and judges no target ("met" / "missed" appear only on a quiet
run). ``--wait-quiet SECONDS`` first waits, at most that long, for a quiet machine.

Case 8 (a ``minitl compare --quick``-sized protocol run against its PyTorch twin) runs once the
``compare`` command exists: ``compare_case_available`` is the hook. Not run in CI (no timed asserts in tests).
"""
import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minitl, not an installed one
import cases  # noqa: E402
import machine_load  # noqa: E402

BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
ROUNDS = 3


# ------------------------------------------------------------------------------------------------- worker
def _limit_threads(framework, threads):
    """Match the thread counts; returns what threadpoolctl sees loaded (library, version, kernel, threads)."""
    try:
        import threadpoolctl  # noqa: PLC0415
    except ImportError:
        threadpoolctl = None
    if framework == "torch":
        import torch  # noqa: PLC0415
        torch.set_num_threads(threads)
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 products in float32, as minitl's CuPy path
        torch.backends.cudnn.allow_tf32 = False
    else:
        import numpy  # noqa: F401, PLC0415 - loads its BLAS, so threadpoolctl can see and limit it
    if threadpoolctl is None:
        return ["threadpoolctl not installed (pip install threadpoolctl): BLAS kernel unknown"]
    threadpoolctl.threadpool_limits(threads)
    return [f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture', '?')} "
            f"threads={i.get('num_threads')}" for i in threadpoolctl.threadpool_info()]


def run_worker(args):
    """Time every case of ``args.cases`` in one framework; print one JSON line of results."""
    blas = _limit_threads(args.worker, args.threads)
    results, extra = {}, {"blas": blas}
    if args.worker == "minitl":
        from minitl.fast import allocator  # noqa: PLC0415
        extra["allocator"] = "freed memory kept (mallopt)" if allocator.is_applied() else "glibc defaults"
    for case in args.cases.split(","):
        step, sync = cases.build(case, args.worker, args.device)
        for _ in range(args.warmup):
            step()
        sync()
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - start)
        results[case] = statistics.median(times)
        del step
        gc.collect()
    if args.graph_bytes:
        extra["graph_bytes"] = {kind: cases.graph_bytes(args.worker, args.device, kind == "frozen")
                                for kind in ("full", "frozen")}
    print(json.dumps({"times": results, **extra}))


# ------------------------------------------------------------------------------------------------- driver
def compare_case_available():
    """Case 8's hook: True once ``minitl compare`` exists. Until then the case is reported as not run."""
    import importlib.util  # noqa: PLC0415
    return importlib.util.find_spec("minitl.compare") is not None


def _torch_installed():
    import importlib.util  # noqa: PLC0415
    return importlib.util.find_spec("torch") is not None


def _worker(framework, chosen, args, env, graph_bytes):
    command = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--cases", ",".join(chosen),
               "--device", args.device, "--threads", str(args.threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup)] + (["--graph-bytes"] if graph_bytes else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {framework} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _environment(unset, threads):
    env = dict(os.environ)
    if unset:
        for name in BLAS_VARIABLES:
            env.pop(name, None)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)  # no pool of idle threads larger than the matched count
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def measure(chosen, args, unset, rounds, frameworks):
    """``rounds`` alternating blocks of workers; {framework: [one {case: seconds} per round]} and the extras."""
    env = _environment(unset, args.threads)
    times = {f: [] for f in frameworks}
    extras = {"load": []}
    sampler = machine_load.Sampler()
    for r in range(rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for framework in order:
            sampler.start()
            out = _worker(framework, chosen, args, env, graph_bytes=(r == 0))
            block = sampler.stop()
            extras["load"].append(dict(block, round=r + 1, framework=framework))
            times[framework].append(out.pop("times"))
            extras.setdefault(framework, out)
            busy = " (BUSY: other work ran)" if block.get("busy") else ""
            print(f"  round {r + 1}/{rounds} {framework:6s} done{busy}", file=sys.stderr, flush=True)
    return times, extras


def _spread(values, fmt):
    """'median (min-max)' of a list of numbers."""
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def report(title, chosen, times, extras):
    """The table of one environment, as text, and the same figures as a dict for --json."""
    from minitl.table import text_table  # noqa: PLC0415
    have_torch = "torch" in times
    ms = lambda s: f"{s * 1e3:.2f}"  # noqa: E731
    ratio_fmt = lambda v: f"{v:.2f}"  # noqa: E731
    rows, figures = [], {}
    busy = any(block.get("busy") for block in extras["load"]) or not any(b.get("known") for b in extras["load"])
    for case in chosen:
        mine = [t[case] for t in times["minitl"]]
        row = [cases.CASES[case], ms(statistics.median(mine))]
        figure = {"minitl_s": mine}
        if have_torch:
            theirs = [t[case] for t in times["torch"]]
            ratios = [a / b for a, b in zip(mine, theirs)]
            row += [ms(statistics.median(theirs)), _spread(ratios, ratio_fmt)]
            figure.update(torch_s=theirs, ratio=ratios)
        target = cases.TARGETS.get(case)
        verdict = ""
        if target and have_torch:
            met = statistics.median(ratios) <= target
            verdict = " not judged (busy)" if busy else (" met" if met else " missed")
        row.append(f"<= {target}{verdict}" if target else "")
        rows.append(row)
        figures[case] = figure
    header = ["case", "minitl ms", "torch ms", "minitl/torch (min-max)", "target"] if have_torch else \
        ["case", "minitl ms", "target"]
    if not have_torch:
        rows = [[r[0], r[1], r[2]] for r in rows]
    lines = [title, text_table(header, rows)]
    if "chain_1000" in chosen:
        per_op = [t["chain_1000"] / (cases.CHAIN_OPS + 1) * 1e6 for t in times["minitl"]]
        lines.append(f"chain: minitl {_spread(per_op, lambda v: f'{v:.1f}')} us per op (forward + backward)")
        if have_torch:
            per_op = [t["chain_1000"] / (cases.CHAIN_OPS + 1) * 1e6 for t in times["torch"]]
            lines.append(f"chain: torch  {_spread(per_op, lambda v: f'{v:.1f}')} us per op")
    for framework in times:  # case 3's second ratio: a frozen step against the framework's own full step
        for case in ("smallcnn_frozen_b64", "smallcnn_freeze_to2_b64"):
            if case in chosen and "smallcnn_b64" in chosen:
                own = [t[case] / t["smallcnn_b64"] for t in times[framework]]
                target = " (target <= 0.35)" if case == "smallcnn_frozen_b64" and framework == "minitl" else ""
                lines.append(f"{framework:6s} {case} / own full step b64: {_spread(own, ratio_fmt)}{target}")
                figures.setdefault(f"{case}_over_full", {})[framework] = own
    if "head_cached_b64" in chosen:
        head = statistics.median(t["head_cached_b64"] for t in times["minitl"]) * 1e3
        lines.append(f"minitl head-only cached step: {head:.3f} ms (target < 1 ms)")
    lines.append(machine_load.summary(extras["load"]))
    for framework, extra in extras.items():
        if framework == "load":
            continue
        if "graph_bytes" in extra:
            full, frozen = extra["graph_bytes"]["full"], extra["graph_bytes"]["frozen"]
            target = " (target <= 15%)" if framework == "minitl" else ""
            lines.append(f"7. {framework:6s} graph bytes, SmallCNN b64: full fine-tune {full / 2**20:.2f} MiB, frozen "
                         f"backbone {frozen / 2**20:.3f} MiB = {100 * frozen / full:.1f}% of full{target}")
        lines.append(f"   {framework:6s} BLAS: {'; '.join(extra['blas'])}")
        if "allocator" in extra:
            lines.append(f"   {framework:6s} allocator: {extra['allocator']}")
    figures["extras"] = extras
    return "\n".join(lines), figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the core cases only, the second environment once")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to this JSON file")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both (default: all)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per case and worker (at least 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cases", help="comma-separated case names (default: all, or the quick set)")
    parser.add_argument("--wait-quiet", type=float, metavar="SECONDS", default=0,
                        help="first wait, at most this long, until no other process uses the CPUs")
    parser.add_argument("--worker", choices=("minitl", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--graph-bytes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    if args.steps < 20:
        parser.error("--steps must be at least 20: a median of fewer steps is noise on a shared machine")
    chosen = args.cases.split(",") if args.cases else (cases.QUICK if args.quick else list(cases.CASES))
    unknown = [c for c in chosen if c not in cases.CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(cases.CASES)}")
    if args.wait_quiet > 0:
        print(f"waiting up to {args.wait_quiet:.0f} s for a quiet machine", file=sys.stderr, flush=True)
        if not machine_load.wait_quiet(args.wait_quiet):
            print("the machine did not become quiet: measuring anyway; the report will say if it was busy",
                  file=sys.stderr, flush=True)
    frameworks = ["minitl", "torch"] if _torch_installed() else ["minitl"]
    if len(frameworks) == 1:
        print("PyTorch is not installed (pip install torch): minitl's times only, no ratios", file=sys.stderr)
    set_values = ", ".join(f"{n}={os.environ[n]}" for n in BLAS_VARIABLES if n in os.environ) or "neither set"
    environments = [(True, f"{' and '.join(BLAS_VARIABLES)} unset")]
    if args.device == "cpu" and set_values != "neither set":  # the kernel choice only matters to the CPU's BLAS
        environments.append((False, f"environment as it is ({set_values})"))
    elif args.device == "cpu":
        print(f"{' and '.join(BLAS_VARIABLES)} are not set here: the environment as it is is the table below, "
              "not measured twice\n")
    started = time.time()
    texts, figures = [], {"device": args.device, "threads": args.threads, "steps": args.steps, "rounds": ROUNDS,
                          "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])}
    for unset, label in environments:
        rounds = 1 if (args.quick and not unset) else ROUNDS
        print(f"measuring: {label}, {rounds} round(s)", file=sys.stderr, flush=True)
        times, extras = measure(chosen, args, unset, rounds, frameworks)
        title = (f"== {args.device}, {args.threads} threads, float32, {label}: median of {args.steps} steps per "
                 f"worker, {rounds} round(s) of alternating workers ==")
        text, figures["unset" if unset else "as_set"] = report(title, chosen, times, extras)
        texts.append(text)
        print(text + "\n", flush=True)
    if args.cases or args.quick:
        print("8. minitl compare --quick protocol vs its PyTorch twin: runs in the full benchmark only (no --cases, "
              "no --quick)")
    elif compare_case_available() and "torch" in frameworks:
        import compare_torch  # noqa: PLC0415 - benchmarks/compare_torch.py, the protocol's PyTorch twin
        print(f"8. minitl compare --quick protocol vs its PyTorch twin (each in its own process, "
              f"{args.threads} threads, {' and '.join(BLAS_VARIABLES)} unset):")
        print(compare_torch.protocol_case(env=_environment(True, args.threads)), flush=True)
    elif compare_case_available():
        print("8. minitl compare --quick protocol vs its PyTorch twin: not run, PyTorch is not installed")
    else:
        print("8. minitl compare --quick protocol vs its PyTorch twin: not run, `minitl compare` does not exist yet "
              "(hook: compare_case_available in benchmarks/run.py)")
    print(f"total time {time.time() - started:.0f} s")
    if args.json:
        from minitl.atomic import atomic_write  # noqa: PLC0415
        with atomic_write(args.json) as file:
            file.write(json.dumps(figures, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
