"""benchmarks/machine_load.py and its use in benchmarks/run.py: a busy machine is measured as busy, and a busy
run judges no speed target (the figures here are made up; nothing is timed)."""
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import machine_load  # noqa: E402
import run  # noqa: E402

STAT = "cpu  {busy} 0 0 {idle} 0 0 0 {steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n"


def snapshot(wall, busy_ticks, steal=0, total=None, children=0.0, loadavg=0.1):
    return {"wall": wall, "busy": busy_ticks, "steal": steal, "total": total if total is not None else busy_ticks,
            "children": children, "self": 0.0, "loadavg": loadavg}


def test_the_cpu_line_is_read_with_irq_softirq_and_steal():
    text = "cpu  100 5 20 1000 7 3 2 40 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n"
    assert machine_load.parse_cpu_line(text) == (100 + 5 + 20 + 3 + 2, 40, 100 + 5 + 20 + 1000 + 7 + 3 + 2 + 40)
    assert machine_load.parse_loadavg("0.07 0.12 0.30 1/234 5678\n") == pytest.approx(0.07)
    with pytest.raises(ValueError, match="cpu"):
        machine_load.parse_cpu_line("intr 1 2 3\n")


def test_a_block_where_only_the_worker_ran_is_quiet():
    # 2 cores, 10 s: the machine was busy 10.1 s of CPU, 10.0 of them the worker's
    block = machine_load.block_load(snapshot(0, 0), snapshot(10, 1010, total=2000, children=10.0), 100, 2)
    assert block["others_cores"] == pytest.approx(0.01) and not block["busy"]


def test_another_process_using_a_core_makes_the_block_busy():
    block = machine_load.block_load(snapshot(0, 0), snapshot(10, 2000, total=2000, children=10.0), 100, 2)
    assert block["others_cores"] == pytest.approx(1.0) and block["busy"]


def test_stolen_time_makes_the_block_busy_even_when_nothing_else_ran_here():
    block = machine_load.block_load(snapshot(0, 0), snapshot(10, 1000, steal=200, total=2000, children=10.0),
                                    100, 2)
    assert block["others_cores"] == pytest.approx(0.0) and block["steal_fraction"] == pytest.approx(0.1)
    assert block["busy"]


def test_the_summary_says_busy_and_that_targets_are_not_judged():
    quiet = {"known": True, "others_cores": 0.01, "steal_fraction": 0.0, "loadavg_before": 0.05,
             "loadavg_after": 0.9, "busy": False}
    busy = dict(quiet, others_cores=1.2, busy=True)
    assert machine_load.summary([quiet, quiet]).endswith("quiet: no other work measured in any of the 2 blocks")
    text = machine_load.summary([quiet, busy])
    assert "BUSY" in text and "1 of 2 blocks" in text and "targets not judged" in text
    assert "up to 1.20 cores" in text and "load average 0.05-0.90" in text
    assert "not measured" in machine_load.summary([{"known": False}])


def test_the_sampler_reads_proc_and_counts_a_child_as_the_workers_own(tmp_path):
    (tmp_path / "loadavg").write_text("0.20 0.10 0.05 1/100 42\n")
    (tmp_path / "stat").write_text(STAT.format(busy=0, idle=0, steal=0))
    sampler = machine_load.Sampler(proc=str(tmp_path), ticks_per_second=100, cores=2)
    sampler.start()
    subprocess.run([sys.executable, "-c", "sum(range(3_000_000))"], check=True)  # the "worker"
    (tmp_path / "stat").write_text(STAT.format(busy=100_000, idle=0, steal=0))  # 1,000 s of CPU: not all ours
    block = sampler.stop()
    assert block["known"] and block["busy"] and block["loadavg_after"] == pytest.approx(0.2)
    assert not machine_load.Sampler(proc=str(tmp_path / "none")).available


def _report(load):
    times = {"minitl": [{"mlp_b64": 1.0}, {"mlp_b64": 1.0}], "torch": [{"mlp_b64": 2.0}, {"mlp_b64": 2.0}]}
    extras = {"load": load, "minitl": {"blas": ["openblas"]}, "torch": {"blas": ["mkl"]}}
    return run.report("title", ["mlp_b64"], times, extras)[0]


def test_a_quiet_run_judges_its_targets_and_a_busy_one_does_not():
    quiet = {"known": True, "others_cores": 0.0, "steal_fraction": 0.0, "loadavg_before": 0.1,
             "loadavg_after": 0.1, "busy": False}
    text = _report([quiet, quiet])
    assert f"<= {run.cases.TARGETS['mlp_b64']} met" in text and "quiet:" in text
    text = _report([quiet, dict(quiet, others_cores=0.8, busy=True)])
    assert "not judged (busy)" in text and " met" not in text and "BUSY" in text
    assert "not judged" in _report([{"known": False}])  # nothing known about the load: nothing judged


def test_wait_quiet_gives_up_at_its_limit_and_returns_at_the_first_quiet_sample():
    class Fake:
        available = True

        def __init__(self, busy_samples):
            self.left = busy_samples

        def start(self):
            pass

        def stop(self):
            self.left -= 1
            return {"busy": self.left >= 0, "loadavg_after": 0.1}

    sleeps = []
    assert machine_load.wait_quiet(60, Fake(2), sample_seconds=5, sleep=sleeps.append)
    assert sleeps == [5, 5, 5]
    assert not machine_load.wait_quiet(0, Fake(5), sample_seconds=5, sleep=sleeps.append)
