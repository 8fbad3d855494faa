"""Docstrings and the README point only at files that exist in the repository (no outside paths, no missing demos)."""
import pathlib
import re
import shlex

import pytest

from minitl.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.(?:py|md))\b")
# files that a run writes (``minitl compare``, ``minitl export torch``), not files of the repository
WRITTEN_BY_MINITL = {"compare.md", "model.py", "finetune.py", "train_ddp.py"}


def _documents():
    yield from sorted((ROOT / "minitl").rglob("*.py"))
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").glob("*.md"))


def test_every_referenced_py_or_md_file_exists():
    existing = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if ".git" not in p.parts}
    basenames = {path.rsplit("/", 1)[-1] for path in existing}
    missing = []
    for document in _documents():
        text = document.read_text(encoding="utf-8")
        assert "/work/" not in text, f"{document.relative_to(ROOT)} cites a file outside the repository"
        for match in REFERENCE.finditer(text):
            ref = match.group(1)
            if "/" in ref:
                candidates = {ref, f"minitl/{ref}", (document.parent / ref).resolve().relative_to(ROOT).as_posix()
                              if (document.parent / ref).resolve().is_relative_to(ROOT) else ref}
                found = bool(candidates & existing)
            else:
                found = ref in basenames or ref in WRITTEN_BY_MINITL
            if not found:
                missing.append(f"{document.relative_to(ROOT)}: {ref}")
    assert not missing, "references to files that do not exist:\n" + "\n".join(missing)


def _readme_block_after(heading_words):
    """The first ```bash block after the README line that contains ``heading_words``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(heading_words)
    block = text[text.index("```bash\n", start) + len("```bash\n"):]
    return block[:block.index("```")].splitlines()


def test_ci_installs_and_runs_exactly_what_the_readme_says():
    venv, install, test = _readme_block_after("Run the tests in a fresh virtual environment")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert venv.startswith("python3 -m venv ")
    assert "python3 -m venv \"$scratch/venv\"" in ci  # its own fresh environment, in a temporary folder
    assert install in ci and test in ci
    assert ci.index(install) < ci.index(test)
    assert "-c requirements/test.txt" in install and (ROOT / "requirements" / "test.txt").is_file()


def test_the_lock_pins_every_test_tool_and_leaves_minitls_own_dependencies_to_their_ranges():
    pins = {}
    for line in (ROOT / "requirements" / "test.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements/test.txt: {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    for tool in ("pytest", "hypothesis", "torch", "keras", "selenium", "ruff", "h5py", "onnx", "safetensors"):
        assert tool in pins, f"requirements/test.txt does not pin {tool}"
    assert "numpy" not in pins and "pillow" not in pins


def _commands_in_bash_blocks(path):
    """Each ``minitl ...`` or ``python -m minitl ...`` line of the ```bash blocks of ``path``, as argv."""
    text, commands = path.read_text(encoding="utf-8"), []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part)
                if words[:3] == ["python", "-m", "minitl"]:
                    commands.append(words[3:])
                elif words[:1] == ["minitl"]:
                    commands.append(words[1:])
    return commands


def test_every_minitl_command_in_the_teaching_guide_is_one_the_command_line_takes():
    commands = _commands_in_bash_blocks(ROOT / "docs" / "teaching.md")
    assert {c[0] for c in commands} >= {"exercises", "check"}
    parser = build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:  # argparse's answer to a command or option that does not exist
            pytest.fail(f"docs/teaching.md: `minitl {' '.join(argv)}` is not a command minitl takes")
    teaching = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = re.search(r"```python\n(!git clone.*?)```", teaching, re.DOTALL).group(1)
    assert setup in readme  # the one set-up cell is the README's, word for word
