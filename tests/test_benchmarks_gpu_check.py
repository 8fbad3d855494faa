"""benchmarks/gpu_check.sh, dry-run against the CuPy stand-in and a fake nvidia-smi, and the choice of CuPy wheel
it makes (benchmarks/cuda_libraries.py): the CUDA libraries installed decide, the driver's newest CUDA only bounds."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import cuda_libraries  # noqa: E402 - benchmarks/ is not a package

from test_functional_reduce import NEW_REDUCTIONS  # noqa: E402 - the gradchecks the dry run counts

TORCH_LIBS = [("nvidia-cublas-cu12", "12.8.4.1"), ("nvidia-cuda-nvrtc-cu12", "12.8.93"),
              ("nvidia-cuda-runtime-cu12", "12.8.90"), ("nvidia-curand-cu12", "10.3.9.90")]


@pytest.mark.parametrize("driver, torch_cuda, distributions, ldconfig, expected", [
    (13, "12.8", TORCH_LIBS, "", "cupy-cuda12x"),  # the case: PyTorch's CUDA 12 on a CUDA 13 driver
    (13, None, TORCH_LIBS, "", "cupy-cuda12x"),  # the same libraries without PyTorch
    (13, None, [("nvidia-cuda-nvrtc-cu12", "12.9.86")], "", "cupy-cuda12x[ctk]"),  # some: [ctk] brings the rest
    (13, None, [("nvidia-cuda-runtime", "13.0.96"), ("nvidia-cuda-nvrtc", "13.0.88"), ("nvidia-cublas", "13.1.0.3"),
                ("nvidia-curand", "10.4.0.35")], "", "cupy-cuda13x"),  # CUDA 13 wheels: no -cu13 in the name
    (12, None, [("nvidia-cuda-nvrtc", "13.0.88")], "", "cupy-cuda12x[ctk]"),  # newer than the driver: not usable
    (13, None, [], "\tlibnvrtc.so.12 (libc6,x86-64) => /usr/lib/libnvrtc.so.12\n\tlibcudart.so.12 => /a\n"
                   "\tlibcublas.so.12 => /b\n\tlibcurand.so.10 => /c\n", "cupy-cuda12x[ctk]"),  # cuRAND is .so.10
    (13, None, [], "\tlibnvrtc.so.12 => /a\n\tlibcudart.so.12 => /b\n\tlibcublas.so.12 => /c\n"
                   "\tlibcurand.so.12 => /d\n", "cupy-cuda12x"),
    (13, None, [], "", "cupy-cuda13x[ctk]"),  # nothing installed: the driver's CUDA, with its libraries
    (14, None, [], "", "cupy-cuda13x[ctk]"),  # a driver newer than any CuPy wheel
])
def test_the_cupy_wheel_follows_the_installed_libraries(driver, torch_cuda, distributions, ldconfig, expected):
    package, why = cuda_libraries.choose(driver, torch_cuda, distributions, ldconfig)
    assert package == expected, why
    assert f"CUDA {expected[len('cupy-cuda'):][:2]}" in why  # and says why


def test_a_driver_older_than_cuda_12_is_refused_with_what_to_do():
    with pytest.raises(SystemExit, match="update the NVIDIA driver"):
        cuda_libraries.choose(11, "12.8", TORCH_LIBS, "")


def _fake_nvidia_smi(folder, cuda="13.0", rc=0):
    tool = folder / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\necho '| NVIDIA-SMI 580.82   Driver Version: 580.82   CUDA Version: {cuda}  |'\n"
                    f"exit {rc}\n")
    tool.chmod(0o755)
    return folder


def _gpu_check(tmp_path, **env):
    environment = dict(os.environ, PATH=f"{_fake_nvidia_smi(tmp_path)}{os.pathsep}{os.environ['PATH']}",
                       GPU_CHECK_PYTHON=sys.executable, MINITL_CUPY_STANDIN="standin_cupy",
                       PYTHONPATH=str(ROOT / "tests"), **env)
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(tmp_path / "out")],
                          capture_output=True, text=True, env=environment, timeout=300)


@pytest.mark.slow  # a whole gpu_check run: a pytest run of its own inside
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the script needs bash and coreutils' timeout")
def test_the_dry_run_exercises_every_stage_with_its_limit(tmp_path):
    if not hasattr(pytest.importorskip("standin_kernels"), "ElementwiseKernel"):
        pytest.skip("no C compiler for the stand-in's kernels (the kernel tests would all skip)")
    some_tests = "tests/test_functional_pool_cuda.py tests/test_functional_reduce.py::test_new_reduction_gradcheck"
    result = _gpu_check(tmp_path, GPU_CHECK_DRY_RUN="1", GPU_CHECK_TESTS=some_tests)
    assert result.returncode == 0, result.stdout + result.stderr
    stages = {s["name"]: s for s in json.loads((tmp_path / "out" / "gpu_check.json").read_text())["stages"]}
    # pip is never called in a dry run; CuPy is planned (the stand-in is not a CuPy install) with its own limit
    cupy = stages["install_cupy"]
    assert cupy["exit_status"] == "dry-run" and cupy["limit_seconds"] == "420" and "pip install" in cupy["note"]
    # the wheel cuda_libraries.py picks for this machine's libraries under the fake driver's CUDA 13 (the choice
    # itself is tested above): the script parsed the driver and asked it
    choice = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cuda_libraries.py"), "13"],
                            capture_output=True, text=True, check=True).stdout.split("\t")[0]
    assert cupy["note"].endswith(f"pip install {choice}") and f"CuPy: {choice} (" in result.stdout
    if "install_torch" in stages:  # only where PyTorch is missing: what is installed is kept
        assert stages["install_torch"]["limit_seconds"] == "900"
    tests = stages["tests_cuda"]  # run for real, on the stand-in, under its limit
    assert tests["exit_status"] == "0" and tests["limit_seconds"] == "210" and " passed" in tests["note"]
    assert stages["gradchecks_float64_cuda"]["note"].startswith(f"{len(NEW_REDUCTIONS)} passed, 0 failed")
    assert stages["benchmark_cuda"]["exit_status"] == "dry-run" and stages["benchmark_cuda"]["limit_seconds"] == "180"
    assert "CuPy stand-in (no GPU)" in (tmp_path / "out" / "versions.txt").read_text()
    assert "tests_cuda" in result.stdout and "limit" in result.stdout  # the table


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the script needs bash and coreutils' timeout")
def test_without_a_gpu_answering_the_check_stops_and_says_so(tmp_path):
    environment = dict(os.environ, PATH=f"{_fake_nvidia_smi(tmp_path, rc=9)}{os.pathsep}{os.environ['PATH']}",
                       GPU_CHECK_PYTHON=sys.executable, GPU_CHECK_DRY_RUN="1")
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(tmp_path / "out")],
                            capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 2 and "no NVIDIA GPU answers" in result.stderr
