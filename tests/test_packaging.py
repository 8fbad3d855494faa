"""minitl as a user gets it: the wheel built from this checkout, installed into a fresh venv (issue 29).

The checkout's own tests import minitl from the checkout, where ``weights/`` sits beside the package,
so they cannot see what a wheel leaves out. This test builds the wheel the way ``pip install
git+URL`` does, checks what is inside it (the shipped weights and their manifest, nothing from
tests/, benchmarks/ or demos/, a size bound), installs it into a new venv (pip fetches numpy and
Pillow from the index) and runs, from an empty folder that is not the checkout: ``minitl compare
--quick`` (one seed), a load of shipped weights by name, and demo 08 (which reads the shipped ``.pth``).
"""
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from checkout_copy import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
MAX_WHEEL_BYTES = 8 << 20  # 6.4 MB when written: the bundled data subset (4.9 MB), the weights (1.1 MB zipped)


def run(command, **kwargs):
    """Run ``command``; on failure, fail with its output (the reason is in it)."""
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def build_wheel(where: Path) -> Path:
    """The wheel of a clean copy of this checkout (what ``pip install git+URL`` builds): a stale build/ in the
    checkout would put deleted modules back into the wheel."""
    source = copy_checkout(where / "source")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", where / "dist", source]
    try:
        import setuptools  # noqa: F401 - present: build with it, offline; absent: pip fetches it
        command.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    run(command)
    (wheel,) = (where / "dist").glob("minitl-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_weights_and_nothing_from_outside_the_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("minitl/_shipped_weights/manifest.json"))
        for name, record in manifest["weights"].items():
            data = archive.read(f"minitl/_shipped_weights/{record['file']}")
            assert hashlib.sha256(data).hexdigest() == record["sha256"], name
            assert data == (ROOT / "weights" / record["file"]).read_bytes(), name
    assert set(manifest["weights"]) >= {"fashion-default", "fashion-paired", "fashion-paired-pth"}
    assert "minitl/data/bundled/fashion_mnist_mini.npz" in names
    assert "minitl/exercises/expected.npz" in names  # the values minitl check compares forwards with
    assert {name.split("/")[0] for name in names} == {"minitl", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "demos/", "scripts/"))]
    size = wheel.stat().st_size
    print(f"\n{wheel.name}: {size / 1e6:.1f} MB")
    assert size < MAX_WHEEL_BYTES, f"the wheel grew to {size / 1e6:.1f} MB; what was added?"


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_wheel_runs_compare_a_named_load_and_a_demo(wheel, tmp_path):
    venv = tmp_path / "venv"
    try:
        run([sys.executable, "-m", "venv", venv])
    except AssertionError as exc:
        raise AssertionError(f"python -m venv failed (on Debian: apt-get install python3-venv): {exc}") from None
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel])  # numpy, pillow: the index
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("MINITL_WEIGHTS", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", HOME=str(tmp_path / "home"), PYTHONDONTWRITEBYTECODE="1")
    where = dict(cwd=empty, env=env)

    found = run([python, "-c", "import minitl, minitl.weights as w; print(minitl.__file__); print(w.folder())"],
                **where).split("\n")
    assert Path(found[0]).is_relative_to(venv) and Path(found[1]).is_relative_to(venv), found
    assert not Path(found[0]).is_relative_to(ROOT)

    loaded = run([python, "-c", "from minitl.models import SmallCNN\n"
                                "model = SmallCNN(num_classes=5, weights='fashion-paired')\n"
                                "print([key for key, _ in model.load_report.replaced])"], **where)
    assert "['head.weight', 'head.bias']" in loaded

    # --quick with one seed instead of three: the same code path at a third of the time (about 2 CPU minutes)
    compare = run([scripts / "minitl", "compare", "--quick", "--seeds", "1", "--quiet"], **where)
    assert "no shipped weights" not in compare and "wrote" in compare
    settings = json.loads((empty / "results" / "compare.json").read_text())["settings"]
    assert settings["task"]["weights"] == "fashion-paired" and settings["pretrained_source_accuracy"] > 0.9

    demo = run([python, ROOT / "demos" / "08_import_pth.py", "--out", "demo_output"], **where)
    assert "source test accuracy of the imported network" in demo
    assert (empty / "demo_output" / "08_predictions.png").is_file()
