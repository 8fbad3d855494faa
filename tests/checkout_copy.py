"""A copy of this checkout as a fresh clone has it: the files git tracks and the new ones it does not ignore.

Used where a test must build or install minitl the way a user would (tests/test_packaging.py,
tests/test_notebook_setup.py): nothing ignored comes along (a stale build/, results/, a venv), so it cannot leak
into what the test checks.
"""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_checkout(destination: Path) -> Path:
    """Copy the checkout's files into ``destination`` (created); returns it."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return destination
