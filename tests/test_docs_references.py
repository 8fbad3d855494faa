"""Docstrings and the README point only at files that exist in the repository (no outside paths, no missing demos)."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.(?:py|md))\b")
WRITTEN_BY_MINITL = {"compare.md"}  # reports that a run writes (``minitl compare``), not files of the repository


def _documents():
    yield from sorted((ROOT / "minitl").rglob("*.py"))
    yield ROOT / "README.md"


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
