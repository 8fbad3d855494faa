"""``minitl compare``: when does freezing, fine-tuning or training from scratch win, and at what cost.

    from minitl.compare import compare, results_text, write_reports
    result = compare(strategies="scratch,fe,ft", n="1,20", seeds=3)
    print(results_text(result)); write_reports(result, "results")

    protocol.py    the shared recipe (SGD, budget, batch, schedule) and the seeds that pair runs up
    grid.py        strategies by registry name with options, sizes n, the default and quick grids
    task.py        the data: target train/test, source test for forgetting, the pretrained weights
    run.py         one run -> one record (accuracy, time, FLOPs, trainable, forgetting)
    comparison.py  the grid -> runs -> verdicts
    stats.py       means, paired differences and their z
    verdicts.py    the four claims, judged from the numbers
    report.py      the printed tables, JSON, Markdown, HTML and the PNG charts
    command.py     the command line
"""
from .comparison import compare
from .grid import (
           DEFAULT_N,
           DEFAULT_SEEDS,
           DEFAULT_STRATEGIES,
           QUICK,
           parse_strategies,
           parse_strategy,
)
from .protocol import Protocol, batch_plan, run_seeds, target_subset
from .report import ComparisonResult, results_text, write_reports
from .task import Task, load_task
from .verdicts import verdicts

__all__ = [
           "ComparisonResult",
           "DEFAULT_N",
           "DEFAULT_SEEDS",
           "DEFAULT_STRATEGIES",
           "QUICK",
           "Protocol",
           "Task",
           "batch_plan",
           "compare",
           "load_task",
           "parse_strategies",
           "parse_strategy",
           "results_text",
           "run_seeds",
           "target_subset",
           "verdicts",
           "write_reports",
]
