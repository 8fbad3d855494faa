"""Was the machine quiet while we measured? The load average and the CPU time other processes took, per block.

A ratio minitl / PyTorch is only worth reading when nothing else ran: PyTorch's OpenMP threads spin and wait
for each other, so they lose far more to a competing process than NumPy's calls do, and a busy machine
flatters minitl (a step measured at 1.32x under load was 2.10x on the same machine when quiet).

``Sampler`` reads ``/proc/stat`` (CPU time of the whole machine, stolen time included) and this process's
children's CPU time (``resource.getrusage``) before and after a block in which one worker ran. What the
machine spent beyond the worker is other work: ``others_cores`` is that, in cores, over the block's wall
time. A block is busy when others used more than ``BUSY_OTHERS_CORES`` of a core on average, or the
hypervisor stole more than ``BUSY_STEAL_FRACTION`` of the machine. Linux only; elsewhere nothing is known
and the run says so.
"""
import os
import resource
import time

BUSY_OTHERS_CORES = 0.15     # another process using 15 % of one core for the whole block
BUSY_STEAL_FRACTION = 0.05   # the hypervisor took 5 % of all cores
QUIET_LOADAVG = 0.5          # what --wait-quiet waits for, with no other process measured busy

# /proc/stat's cpu line: user nice system idle iowait irq softirq steal guest guest_nice (clock ticks)
_BUSY_FIELDS = (0, 1, 2, 5, 6)   # user, nice, system, irq, softirq (guest time is inside user)
_STEAL_FIELD = 7


def parse_cpu_line(stat_text: str):
    """``(busy_ticks, steal_ticks, total_ticks)`` from the text of ``/proc/stat``."""
    for line in stat_text.splitlines():
        if line.startswith("cpu "):
            ticks = [int(v) for v in line.split()[1:]]
            ticks += [0] * (10 - len(ticks))
            busy = sum(ticks[i] for i in _BUSY_FIELDS)
            return busy, ticks[_STEAL_FIELD], sum(ticks[:8])
    raise ValueError("no aggregate 'cpu ' line in /proc/stat")


def parse_loadavg(text: str) -> float:
    """The 1-minute load average from the text of ``/proc/loadavg``."""
    return float(text.split()[0])


def _read(path):
    with open(path, encoding="ascii") as file:
        return file.read()


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Sampler:
    """Brackets one block: ``start()``, run the worker (a child process, waited for), ``stop()`` -> a dict."""

    def __init__(self, proc="/proc", ticks_per_second=None, cores=None):
        self.proc = proc
        self.available = os.path.exists(os.path.join(proc, "stat"))
        self.ticks = ticks_per_second or (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
        self.cores = cores or os.cpu_count() or 1

    def _snapshot(self):
        busy, steal, total = parse_cpu_line(_read(os.path.join(self.proc, "stat")))
        return {"wall": time.perf_counter(), "busy": busy, "steal": steal, "total": total,
                "children": _children_cpu_seconds(), "self": time.process_time(),
                "loadavg": parse_loadavg(_read(os.path.join(self.proc, "loadavg")))}

    def start(self):
        self._before = self._snapshot() if self.available else None

    def stop(self) -> dict:
        if not self.available:
            return {"known": False}
        return block_load(self._before, self._snapshot(), self.ticks, self.cores)


def block_load(before: dict, after: dict, ticks_per_second: float, cores: int) -> dict:
    """What other work did between two snapshots: cores used by others, the stolen fraction, busy or not."""
    wall = max(after["wall"] - before["wall"], 1e-9)
    machine_busy = (after["busy"] - before["busy"]) / ticks_per_second
    ours = (after["children"] - before["children"]) + (after["self"] - before["self"])
    total_ticks = max(after["total"] - before["total"], 1)
    others_cores = max(machine_busy - ours, 0.0) / wall
    steal_fraction = (after["steal"] - before["steal"]) / total_ticks
    busy = others_cores > BUSY_OTHERS_CORES or steal_fraction > BUSY_STEAL_FRACTION
    return {"known": True, "seconds": wall, "others_cores": others_cores, "steal_fraction": steal_fraction,
            "loadavg_before": before["loadavg"], "loadavg_after": after["loadavg"], "busy": busy}


def summary(blocks) -> str:
    """One line for the report: quiet or busy, with the worst block's figures."""
    known = [b for b in blocks if b.get("known")]
    if not known:
        return "machine load: not measured here (no /proc/stat): ratios cannot be checked for a busy machine"
    worst = max(known, key=lambda b: b["others_cores"])
    loads = [b["loadavg_before"] for b in known] + [b["loadavg_after"] for b in known]
    text = (f"machine load: load average {min(loads):.2f}-{max(loads):.2f}; other processes used up to "
            f"{worst['others_cores']:.2f} cores in a block, stolen up to "
            f"{100 * max(b['steal_fraction'] for b in known):.1f}%")
    if any(b["busy"] for b in known):
        busy = sum(b["busy"] for b in known)
        return (f"{text}\nBUSY: other work ran in {busy} of {len(known)} blocks: ratios not comparable, "
                "targets not judged")
    return f"{text}\nquiet: no other work measured in any of the {len(known)} blocks"


def wait_quiet(limit_seconds: float, sampler=None, sample_seconds=5.0, sleep=time.sleep) -> bool:
    """Wait until a ``sample_seconds`` sample shows no other work and a low load average; at most ``limit``."""
    sampler = sampler or Sampler()
    if not sampler.available:
        return False
    deadline = time.monotonic() + limit_seconds
    while True:
        sampler.start()
        sleep(sample_seconds)
        block = sampler.stop()
        if not block["busy"] and block["loadavg_after"] <= QUIET_LOADAVG:
            return True
        if time.monotonic() >= deadline:
            return False
