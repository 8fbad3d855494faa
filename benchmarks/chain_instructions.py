"""Instructions per op of the autograd chain (case 6 of run.py), counted by valgrind: the same on a busy machine.

    python benchmarks/chain_instructions.py [--root CHECKOUT ...]

Times on a shared machine swing by 30% and more; an instruction count does not. Each checkout runs
``cases._chain`` (run.py's case 6: 1,000 tiny ops on shape (8,), forward + backward) once and six times under
``valgrind --tool=callgrind``; the difference, over 5 chains of 1,000 ops, is what one op costs
with Python's start-up and minitl's import cancelled out. Compare two checkouts (an older commit in
a ``git worktree``) to see what a change to ``Function.apply`` or ``run_backward`` saved.
Instructions are not seconds (a cache miss costs more than an add), but for this pure-Python path
the two move together. Needs valgrind (Debian: ``apt-get install valgrind``). Minutes per checkout.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# case 6 exactly as run.py times it (cases._chain, from this folder), on the checkout's minitl
CHAIN = f"""
import sys
sys.path.insert(0, {HERE!r})
import numpy, minitl, cases
chain = cases._chain(minitl.tensor(numpy.ones(8, numpy.float32), requires_grad=True))
for _ in range(int(sys.argv[1])):
    chain()
"""


def instructions(root, chains, script):
    env = dict(os.environ, PYTHONPATH=root, OPENBLAS_NUM_THREADS="1")
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script, str(chains)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", action="append", help="a checkout to count (default: this one); repeatable")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(CHAIN)
    try:
        for root in args.root or [os.path.dirname(HERE)]:
            per_op = (instructions(root, 6, file.name) - instructions(root, 1, file.name)) / (5 * 1000)
            print(f"{root}: {per_op / 1000:.1f}k instructions per op (forward + backward)")
    finally:
        os.unlink(file.name)


if __name__ == "__main__":
    main()
