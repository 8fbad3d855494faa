"""The set-up a teacher uses, reproduced: a clone in a folder named ``minitl``, installed as the README's
"In Jupyter or Colab" section says, and a real Jupyter kernel started in the folder above it, where the clone
folder itself is importable as ``minitl`` (an empty namespace package) unless the install is a plain path entry.
"""
import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from checkout_copy import copy_checkout

pytestmark = pytest.mark.slow  # a fresh virtual environment and a kernel

ROOT = Path(__file__).resolve().parent.parent

KERNEL_RUN = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
cell = "import minitl\nprint(minitl.__file__)\nprint(float(minitl.tensor([1.0, 2.0]).sum()))"
notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": sys.argv[1]}}).execute()
print(json.dumps([output.get("text", "") for output in notebook.cells[0].outputs]))
"""


def _readme_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### In Jupyter or Colab"):]
    block = section[section.index("```python\n") + len("```python\n"):]
    return block[:block.index("```")].splitlines()


def test_the_readme_notebook_setup_installs_minitl_from_the_clone():
    commands = _readme_setup_commands()
    assert any(line.startswith("!git clone ") and line.rstrip().endswith(" minitl") for line in commands)
    assert "%pip install -e minitl" in commands and "import minitl" in commands


def test_a_kernel_started_above_a_clone_named_minitl_imports_the_package(tmp_path):
    course = tmp_path / "course"
    copy_checkout(course / "minitl")
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # the README's `%pip install -e minitl`, run in the course folder; ipykernel and nbclient run the kernel
    install = subprocess.run([python, "-m", "pip", "install", "-q", "-e", "minitl", "ipykernel", "nbclient"],
                             cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    done = subprocess.run([python, "-c", KERNEL_RUN, str(course)], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = "".join(json.loads(done.stdout.strip().splitlines()[-1]))
    assert str(course / "minitl" / "minitl" / "__init__.py") in printed  # the package, not the clone folder
    assert "3.0" in printed
