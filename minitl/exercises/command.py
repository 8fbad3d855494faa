"""The commands ``minitl exercises make OUT`` / ``minitl exercises list`` and ``minitl check NAME`` / ``--all``."""
from .checker import EXERCISES, check, stub_in_place
from .student_copy import make_student_copy


def _make(args, out):
    only = [name for name in args.only.split(",") if name.strip()] if args.only else None
    cut = make_student_copy(args.out, only=only)
    names = list(dict.fromkeys(region.name for region in cut))
    out.write(f"wrote {args.out}/minitl: {len(names)} exercises stubbed ({len(cut)} regions): {', '.join(names)}\n"
              f"check them there with: cd {args.out} && python -m minitl check --all\n")
    return 0


def _list(args, out):
    width = max(len(name) for name in EXERCISES)
    for name, exercise in EXERCISES.items():
        state = "stub" if stub_in_place(name) else "code"
        out.write(f"{name:<{width}}  {state:<4}  {exercise.where()}\n")
    return 0


def _check(args, out):
    if args.all == bool(args.names):
        raise ValueError("name the exercises to check, or --all (the exercises: " + ", ".join(EXERCISES) + ")")
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
