"""The NumPy/CuPy seam: array modules, devices, the GPU error message, optional CuPy, scatter_add, seeded randomness."""
import os
import subprocess
import sys
import textwrap

import numpy
import pytest

import minitl
from minitl import backend


@pytest.fixture
def no_gpu(monkeypatch):
    """Pretend CuPy failed to import, whatever this machine has."""
    monkeypatch.setattr(backend, "_cupy_checked", True)
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "CuPy could not be imported (ImportError: simulated)")
    monkeypatch.setattr(backend, "_standin", None)  # nor a CuPy stand-in ($MINITL_CUPY_STANDIN)
    monkeypatch.delenv("MINITL_CUPY_STANDIN", raising=False)


def test_get_array_module_of_numpy_is_numpy():
    assert backend.get_array_module(numpy.zeros(2)) is numpy
    assert backend.get_array_module(numpy.zeros(2), 3.0, [1, 2]) is numpy
    assert backend.get_array_module() is numpy


def test_device_of_numpy_is_cpu():
    assert backend.device_of(numpy.zeros(1)) == "cpu"


def test_to_device_cpu_returns_numpy_without_copy():
    a = numpy.arange(4.0)
    assert backend.to_device(a, "cpu") is a
    out = backend.to_device([1, 2], "CPU")
    assert isinstance(out, numpy.ndarray)
    numpy.testing.assert_array_equal(out, [1, 2])


def test_asnumpy_passes_numpy_through():
    a = numpy.ones(2)
    assert backend.asnumpy(a) is a


@pytest.mark.parametrize("name, expected", [("cpu", "cpu"), ("CPU", "cpu"), ("cuda", "cuda"), ("cuda:0", "cuda"),
                                            ("gpu", "cuda")])
def test_normalize_device(name, expected):
    assert backend.normalize_device(name) == expected


@pytest.mark.parametrize("name", ["tpu", "metal", "", "cpu0"])
def test_unknown_device_name_raises(name):
    with pytest.raises(backend.DeviceError, match="unknown device"):
        backend.normalize_device(name)
    with pytest.raises(backend.DeviceError):
        minitl.tensor([1.0], device=name)


def test_cuda_without_gpu_raises_with_install_hint(no_gpu):
    assert not backend.is_gpu_available()
    assert not minitl.is_gpu_available()
    with pytest.raises(backend.DeviceError) as info:
        backend.to_device(numpy.zeros(2), "cuda")
    message = str(info.value)
    assert "pip install 'minitl[gpu]'" in message and "cupy-cuda12x" in message
    assert "simulated" in message  # says why CuPy is unusable
    with pytest.raises(backend.DeviceError, match="minitl\\[gpu\\]"):
        minitl.tensor([1.0], device="cuda")
    with pytest.raises(backend.DeviceError):
        minitl.tensor([1.0]).cuda()


def test_device_error_is_a_runtime_error():
    assert issubclass(backend.DeviceError, RuntimeError)


def test_minitl_device_sets_the_default(monkeypatch, no_gpu):
    monkeypatch.delenv("MINITL_DEVICE", raising=False)
    assert backend.default_device() == "cpu"
    monkeypatch.setenv("MINITL_DEVICE", "cpu")
    assert minitl.tensor([1.0]).device == "cpu"
    monkeypatch.setenv("MINITL_DEVICE", "")
    assert backend.default_device() == "cpu"
    monkeypatch.setenv("MINITL_DEVICE", "cuda")
    assert backend.default_device() == "cuda"
    assert backend.normalize_device(None) == "cuda"
    with pytest.raises(backend.DeviceError, match="minitl\\[gpu\\]"):
        minitl.tensor([1.0])  # goes to the default device, which this machine lacks
    monkeypatch.setenv("MINITL_DEVICE", "tpu")
    with pytest.raises(backend.DeviceError, match="unknown device"):
        minitl.tensor([1.0])


def _run_python(code):
    env = dict(os.environ)
    env.pop("MINITL_DEVICE", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env=env)


def test_import_minitl_works_when_cupy_import_fails():
    result = _run_python("""
        import sys
        sys.modules["cupy"] = None  # makes `import cupy` raise ImportError
        import minitl
        assert not minitl.is_gpu_available()
        x = minitl.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0]
        try:
            minitl.tensor([1.0], device="cuda")
        except minitl.backend.DeviceError as exc:
            assert "could not be imported" in str(exc) and "minitl[gpu]" in str(exc), exc
        else:
            raise AssertionError("no DeviceError")
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_minitl_works_when_cupy_import_crashes_with_another_error():
    result = _run_python("""
        import builtins
        real_import = builtins.__import__
        def broken(name, *args, **kwargs):
            if name == "cupy" or name.startswith("cupy."):
                raise OSError("libcudart.so: cannot open shared object file")
            return real_import(name, *args, **kwargs)
        builtins.__import__ = broken
        import minitl
        assert not minitl.is_gpu_available()
        assert "OSError" in minitl.backend._cupy_error
        assert minitl.tensor([3.0]).item() == 3.0
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.fixture
def standin_as_cupy(monkeypatch):
    """The stand-in imported as ``cupy`` itself, and the backend's check not yet run: its real path runs."""
    import standin_cupy
    if not hasattr(standin_cupy, "ElementwiseKernel"):
        pytest.skip("no C compiler for the stand-in's kernels")
    monkeypatch.setitem(sys.modules, "cupy", standin_cupy)
    monkeypatch.delenv("MINITL_CUPY_STANDIN", raising=False)
    for name, value in (("_standin", None), ("_cupy", None), ("_cupy_checked", False), ("_cupy_error", None)):
        monkeypatch.setattr(backend, name, value)
    return standin_cupy


def test_a_working_cupy_passes_the_first_operation_check(standin_as_cupy):
    assert backend.is_gpu_available() and backend.require_gpu() is standin_as_cupy


class DynamicLibNotFoundError(RuntimeError):
    """What CuPy 14 raises when it cannot find NVRTC (its name, not its module)."""


def _failing(error):
    def fail(*args, **kwargs):
        raise error
    return fail


@pytest.mark.parametrize("library, error", [
    ("nvrtc", DynamicLibNotFoundError('Failure finding "libnvrtc.so": no such file')),
    ("cublas", ImportError("libcublasLt.so.12: cannot open shared object file: No such file or directory")),
    ("curand", ImportError("libcurand.so.10: cannot open shared object file: No such file or directory")),
])
def test_a_missing_cuda_library_is_a_device_error_with_the_pip_command(standin_as_cupy, monkeypatch, library, error):
    import importlib.metadata
    if library == "nvrtc":  # the kernel is compiled at its first launch
        monkeypatch.setattr(standin_as_cupy, "ElementwiseKernel", lambda *a, **k: _failing(error))
    elif library == "cublas":
        monkeypatch.setattr(standin_as_cupy.ndarray, "__matmul__", _failing(error))
    else:
        monkeypatch.setattr(standin_as_cupy, "random", type(sys)("random"))
        standin_as_cupy.random.default_rng = _failing(error)
    installed = {"cupy-cuda12x": "14.2.0"}
    monkeypatch.setattr(importlib.metadata, "version", lambda name: installed[name] if name in installed
                        else _failing(importlib.metadata.PackageNotFoundError(name))())
    assert not backend.is_gpu_available()  # the driver answered; the library did not
    with pytest.raises(backend.DeviceError) as caught:
        minitl.tensor([1.0], device="cuda")
    message = str(caught.value)
    assert type(error).__name__ in message and str(error) in message
    assert "pip install 'cupy-cuda12x[ctk]==14.2.0'" in message


def test_scatter_add_adds_duplicate_indices():
    target = numpy.zeros(4)
    backend.scatter_add(target, numpy.array([0, 0, 2, 0]), numpy.array([1.0, 2.0, 3.0, 4.0]))
    numpy.testing.assert_array_equal(target, [7.0, 0.0, 3.0, 0.0])
    rows = numpy.zeros((2, 3))
    backend.scatter_add(rows, ([1, 1], [2, 2]), numpy.array([1.0, 1.0]))
    assert rows[1, 2] == 2.0 and rows.sum() == 2.0


# ----- seeded randomness -----

@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_manual_seed_makes_random_array_reproducible(kind):
    minitl.manual_seed(7)
    first = backend.random_array(kind, (3, 4), numpy.float32, "cpu")
    second = backend.random_array(kind, (3, 4), numpy.float32, "cpu")
    minitl.manual_seed(7)
    again = backend.random_array(kind, (3, 4), numpy.float32, "cpu")
    numpy.testing.assert_array_equal(first, again)
    assert not numpy.array_equal(first, second)
    minitl.manual_seed(8)
    assert not numpy.array_equal(first, backend.random_array(kind, (3, 4), numpy.float32, "cpu"))
    assert first.dtype == numpy.float32 and first.shape == (3, 4)


def test_random_array_is_drawn_on_the_device_and_reproducible(device):
    minitl.manual_seed(3)
    first = backend.random_array("normal", (5,), numpy.float32, device)
    assert backend.device_of(first) == device and first.dtype == numpy.float32
    minitl.manual_seed(3)
    again = backend.random_array("normal", (5,), numpy.float32, device)
    numpy.testing.assert_array_equal(backend.asnumpy(first), backend.asnumpy(again))
    uniform = backend.asnumpy(backend.random_array("uniform", (4000,), numpy.float32, device, low=2.0, high=3.0))
    assert uniform.min() >= 2.0 and uniform.max() < 3.0 and abs(uniform.mean() - 2.5) < 0.02


def test_device_random_stream_differs_from_the_cpu_one_and_makes_no_copy(standin):
    minitl.manual_seed(3)
    on_device = backend.random_array("normal", (5,), numpy.float32, "cuda")
    assert standin.COUNTS.host_to_device == 0  # drawn there, not moved there
    minitl.manual_seed(3)
    on_cpu = backend.random_array("normal", (5,), numpy.float32, "cpu")
    assert not numpy.array_equal(backend.asnumpy(on_device), on_cpu)  # documented: different generators


def test_random_array_ranges():
    uniform = backend.random_array("uniform", (2000,), numpy.float64, "cpu", low=2.0, high=3.0)
    assert uniform.min() >= 2.0 and uniform.max() < 3.0
    normal = backend.random_array("normal", (20000,), numpy.float64, "cpu", low=5.0, high=0.5)
    assert abs(normal.mean() - 5.0) < 0.05 and abs(normal.std() - 0.5) < 0.05


def test_random_array_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown random kind"):
        backend.random_array("poisson", (2,), numpy.float32, "cpu")


def test_deterministic_scatter_add_runs_on_the_host_with_the_same_result(standin):
    indices, values = numpy.array([0, 0, 2, 0]), numpy.array([1.0, 2.0, 3.0, 4.0])
    fast = standin.zeros(4)
    backend.scatter_add(fast, standin.asarray(indices), standin.asarray(values))
    assert not minitl.are_deterministic_algorithms_enabled()
    minitl.use_deterministic_algorithms(True)
    try:
        assert minitl.are_deterministic_algorithms_enabled()
        exact = standin.zeros(4)
        standin.COUNTS.reset()
        backend.scatter_add(exact, (standin.asarray(indices),), standin.asarray(values))
        assert standin.COUNTS.device_to_host == 3  # target, indices, values: the price of the host path
        assert exact.tolist() == fast.tolist() == [7.0, 0.0, 3.0, 0.0]
    finally:
        minitl.use_deterministic_algorithms(False)
