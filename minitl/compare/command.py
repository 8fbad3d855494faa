"""``minitl compare``: the command line of the comparison (flags -> ``compare()`` -> tables and files).

    minitl compare                          the default grid on the bundled data, about 3 minutes
    minitl compare --quick                  a smaller grid for a lecture, under a minute
    minitl compare --strategies scratch,fe,ft:backbone_lr_scale=1 --n 1,5,20,100 --seeds 3
    minitl compare --split default          the honest contrast: source and target far apart
    minitl compare --source 5,6,7,8,9 --target 0,1,2,3,4   any split (pretrains first; full set)
    minitl compare --data photos/           your own ImageFolder as the target task
    minitl compare --source fashion --target digits   across data sets (and the reverse), bundled subsets
    minitl compare --target-permute 0.5     half the target's pixel positions shuffled: the similarity dial
"""
import argparse
import sys
import time

from ..data.domains import DOMAINS
from .comparison import compare
from .grid import DEFAULT_N, DEFAULT_SEEDS, DEFAULT_STRATEGIES, QUICK
from .report import results_text, write_reports


def _classes(text):
    """``"5,6,7"`` -> ``(5, 6, 7)`` (Fashion-MNIST classes), or a data set name as it is (``"digits"``)."""
    if text.strip() in DOMAINS:
        return text.strip()
    try:
        return tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a data set ({', '.join(DOMAINS)}) nor class "
                                         "numbers separated by commas (5,6,7,8,9)") from None


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: the fraction of pixel positions to shuffle, from 0 to 1")
    return value


def add_parser(commands):
    """Add ``compare`` to the ``minitl`` sub-command parsers."""
    parser = commands.add_parser("compare", help="freeze, fine-tune or train from scratch? accuracy, forgetting, cost")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small grid for a lecture (strategies {','.join(QUICK['strategies'])}; n "
                             f"{','.join(map(str, QUICK['n']))}; {QUICK['seeds']} seeds)")
    parser.add_argument("--full", action="store_true", help="the full data sets instead of the bundled subsets")
    parser.add_argument("--data", metavar="DIR", help="an ImageFolder (DIR/train + DIR/test, or one folder) "
                                                      "as the target task")
    parser.add_argument("--split", default="paired", help="transfer pair: paired (default) or default")
    parser.add_argument("--source", type=_classes, help="source classes, e.g. 5,6,7,8,9 (with --target), or a "
                                                        f"data set: {', '.join(DOMAINS)} (fashion: the weights of "
                                                        "--split)")
    parser.add_argument("--target", type=_classes, help="target classes, e.g. 0,1,2,3,4 (with --source), or a "
                                                        "data set (every class of it)")
    parser.add_argument("--target-permute", type=_fraction, metavar="P",
                        help="shuffle a fixed fraction P of the target's pixel positions (0: the real images; "
                             "1: spatial structure gone, labels still learnable)")
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
    seeds = grid["seeds"] if args.seeds is None else args.seeds  # not ``or``: --seeds 0 is refused, not 3
    result = compare(strategies=args.strategies or grid["strategies"], n=args.n or grid["n"],
                     seeds=seeds, split=args.split, full=args.full, data=args.data,
                     source=args.source, target=args.target, device=args.device,
                     target_permute=args.target_permute,
                     verbose=not args.quiet, stream=sys.stderr)
    paths = write_reports(result, args.out)
    result["wall_seconds"] = time.perf_counter() - started  # printed: the whole command, files included
    out.write(results_text(result) + "\n")
    out.write("wrote " + ", ".join(str(p) for p in paths.values()) + "\n")
    return 0
