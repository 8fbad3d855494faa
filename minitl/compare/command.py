"""``minitl compare``: the command line of the comparison (flags -> ``compare()`` -> tables and files).

    minitl compare                          the default grid on the bundled data, about 3 minutes
    minitl compare --quick                  a smaller grid for a lecture, under a minute
    minitl compare --strategies scratch,fe,ft:backbone_lr_scale=1 --n 1,5,20,100 --seeds 3
    minitl compare --split default          the honest contrast: source and target far apart
    minitl compare --source 5,6,7,8,9 --target 0,1,2,3,4   any split (pretrains first; full set)
    minitl compare --data photos/           your own ImageFolder as the target task
"""
import sys
import time

from .comparison import compare
from .grid import DEFAULT_N, DEFAULT_SEEDS, DEFAULT_STRATEGIES, QUICK
from .report import results_text, write_reports


def _classes(text):
    return tuple(int(c) for c in text.split(",") if c.strip())


def add_parser(commands):
    """Add ``compare`` to the ``minitl`` sub-command parsers."""
    parser = commands.add_parser("compare", help="freeze, fine-tune or train from scratch? accuracy, forgetting, cost")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small grid for a lecture (strategies {','.join(QUICK['strategies'])}; n "
                             f"{','.join(map(str, QUICK['n']))}; {QUICK['seeds']} seeds)")
    parser.add_argument("--full", action="store_true", help="the full Fashion-MNIST instead of the bundled subset")
    parser.add_argument("--data", metavar="DIR", help="an ImageFolder (DIR/train + DIR/test, or one folder) "
                                                      "as the target task")
    parser.add_argument("--split", default="paired", help="transfer pair: paired (default) or default")
    parser.add_argument("--source", type=_classes, help="source classes, e.g. 5,6,7,8,9 (with --target)")
    parser.add_argument("--target", type=_classes, help="target classes, e.g. 0,1,2,3,4 (with --source)")
    parser.add_argument("--strategies", help="registry names with options, comma-separated "
                                             f"(default {','.join(DEFAULT_STRATEGIES)})")
    parser.add_argument("--n", help=f"images per class (default {','.join(map(str, DEFAULT_N))})")
    parser.add_argument("--seeds", type=int, help=f"repeats (default {DEFAULT_SEEDS})")
    parser.add_argument("--out", default="results", help="folder for compare.json/.md/.html and charts")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args, out):
    started = time.perf_counter()
    grid = QUICK if args.quick else {"strategies": DEFAULT_STRATEGIES, "n": DEFAULT_N, "seeds": DEFAULT_SEEDS}
    result = compare(strategies=args.strategies or grid["strategies"], n=args.n or grid["n"],
                     seeds=args.seeds or grid["seeds"], split=args.split, full=args.full, data=args.data,
                     source=args.source, target=args.target, device=args.device,
                     verbose=not args.quiet, stream=sys.stderr)
    paths = write_reports(result, args.out)
    result["wall_seconds"] = time.perf_counter() - started  # printed: the whole command, files included
    out.write(results_text(result) + "\n")
    out.write("wrote " + ", ".join(str(p) for p in paths.values()) + "\n")
    return 0
