"""The commands ``minitl exercises make OUT`` / ``minitl exercises list`` and ``minitl check NAME`` / ``--all``."""
from pathlib import Path

from .checker import EXERCISES, check, stub_in_place
from .student_copy import MANIFEST, PACKAGE, make_student_copy


def _make(args, out):
    only = [name for name in args.only.split(",") if name.strip()] if args.only else None
    cut = make_student_copy(args.out, only=only)
    names = [name for name in EXERCISES if any(region.name == name for region in cut)]
    out.write(f"wrote {Path(args.out) / 'minitl'}: {len(names)} exercises stubbed ({len(cut)} regions): "
              f"{', '.join(names)}\n"
              f"check them there with: cd {args.out} && python -m minitl check --all\n")
    return 0


def _list(args, out):
    width = max(len(name) for name in EXERCISES)
    for name, exercise in EXERCISES.items():
        state = "stub" if stub_in_place(name) else "code"
        out.write(f"{name:<{width}}  {state:<4}  {exercise.where()}\n")
    return 0


def _refuse_another_copy(folder):
    """In a student copy's folder, checking any minitl but that copy would pass on our code, not theirs."""
    here = Path(folder) / "minitl"
    if (here / "exercises" / MANIFEST.name).is_file() and here.resolve() != PACKAGE:
        raise ValueError(f"this folder holds a student copy ({here}), but the minitl imported is {PACKAGE}: the "
                         "check would test that one. Run it as: python -m minitl check ... (Python puts the "
                         "current folder first), or put the copy first on sys.path in a notebook")


def _check(args, out):
    if args.all == bool(args.names):
        raise ValueError("name the exercises to check, or --all (the exercises: " + ", ".join(EXERCISES) + ")")
    _refuse_another_copy(Path.cwd())
    report = check(*args.names)
    out.write(str(report) + "\n")
    return 0 if report.passed else 1


def add_parsers(commands):
    """Add ``exercises`` (make, list) and ``check`` to the command line's subparsers."""
    exercises = commands.add_parser("exercises", help="write a student copy with the exercises stubbed; list them")
    actions = exercises.add_subparsers(dest="action", required=True)
    make = actions.add_parser("make", help="write OUT/minitl: minitl with each solution region replaced by a stub")
    make.add_argument("out", metavar="OUT", help="the folder to write the copy into (OUT/minitl must not exist)")
    make.add_argument("--only", metavar="NAME,...", help="stub only these exercises (or the exercises of these "
                      "files, e.g. minitl/core/ops/conv.py); the others keep their code")
    make.set_defaults(run=_make)
    actions.add_parser("list", help="each exercise, stub or code, and where it is").set_defaults(run=_list)
    checker = commands.add_parser("check", help="check exercises in the imported minitl (exit 1 on any failure)")
    checker.add_argument("names", nargs="*", metavar="NAME", help="the exercises to check")
    checker.add_argument("--all", action="store_true", help="check every exercise")
    checker.set_defaults(run=_check)
