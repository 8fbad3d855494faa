"""Shared fixtures: the ``device`` fixture runs a test on NumPy, on the strict CuPy stand-in and, where CuPy
and a GPU answer, on CuPy.

The devices are collected from what exists: on a machine without a GPU no CUDA item is collected at all
(rather than collected and skipped), and one line after collection says so and why.
"""
import numpy
import pytest

import minitl
from minitl import backend


def _cuda_missing_reason():
    """None where CuPy and a GPU answer, else minitl's own explanation (what is missing, what to install)."""
    try:
        backend.require_gpu()
    except backend.DeviceError as exc:
        return str(exc)
    return None


CUDA_MISSING = _cuda_missing_reason()
DEVICES = ["cpu"] + (["cuda"] if CUDA_MISSING is None else [])


@pytest.fixture(params=DEVICES + ["standin"])
def device(request, monkeypatch):
    """'cpu' always; 'cuda' only where CuPy and a GPU are present (not collected otherwise); 'standin': the
    GPU path on the strict CuPy stand-in (tests/standin_cupy.py), in the modules listed in STANDIN_MODULES.

    The test sees ``"cuda"`` for the stand-in too; the default device stays the CPU, as for 'cuda', so a
    tensor made without ``device=`` next to a device tensor is the mix-up it would be on a GPU.
    """
    if request.param == "standin":
        return use_standin(monkeypatch)
    return request.param


# The test modules whose `device` tests also run on the stand-in (`pytest -k standin`): ops, layers,
# optimizers, the training loop, the data loader, inspection. The rest (file formats, CLI) stay CPU-only
# to keep CI short.
STANDIN_MODULES = ("test_autograd", "test_tensor", "test_functional_", "test_nn_", "test_optim_", "test_train_",
                   "test_data_loader", "test_inspect", "test_device_moves", "test_backend", "test_gradcheck",
                   "test_models", "test_standin", "test_export")


def pytest_collection_modifyitems(config, items):
    """Drop the `standin` case outside STANDIN_MODULES (deselected, not skipped: no noise in the summary), and
    without a GPU the tests that need a real one (the ``cuda`` fixture): not collected, counted for the line
    printed after collection."""
    keep, dropped, not_collected = [], [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        is_standin = callspec is not None and callspec.params.get("device") == "standin"
        if is_standin and not item.module.__name__.startswith(STANDIN_MODULES):
            dropped.append(item)
        elif CUDA_MISSING is not None and "cuda" in getattr(item, "fixturenames", ()):
            not_collected.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
    # each `device` test would have had one CUDA item beside its CPU one, each `kernel_device` test one beside
    # its stand-in one
    config._minitl_cuda_not_collected = len(not_collected) + sum(
        1 for item in keep if getattr(item, "callspec", None) and (item.callspec.params.get("device") == "cpu"
                                                                   or item.callspec.params.get("kernel_device")))


def pytest_report_collectionfinish(config, start_path, items):
    """One line: whether the CUDA half of the suite was collected, and if not, why."""
    if CUDA_MISSING is None:
        return "devices: cpu, cuda (CuPy on a GPU), standin (the strict CuPy stand-in)"
    count = getattr(config, "_minitl_cuda_not_collected", 0)
    items = f"{count} item" + ("" if count == 1 else "s")
    return ("devices: cpu, standin (the strict CuPy stand-in); "
            f"the CUDA half ({items}) was not collected: {CUDA_MISSING}")


def use_standin(monkeypatch):
    """Make 'cuda' mean the strict CuPy stand-in for one test; returns 'cuda'."""
    import standin_cupy  # noqa: PLC0415 - tests/ is on sys.path

    monkeypatch.setattr(backend, "_standin", standin_cupy)
    standin_cupy.COUNTS.reset()
    return "cuda"


@pytest.fixture(params=["standin"] + DEVICES[1:])
def kernel_device(request, monkeypatch):
    """The array module whose custom CUDA kernels run: the stand-in (their bodies compiled as C) and, where a GPU
    answers, real CuPy (not collected otherwise, as the ``device`` fixture's 'cuda'); skipped on the stand-in
    without a C compiler."""
    if request.param == "cuda":
        xp = backend.require_gpu()
    else:
        use_standin(monkeypatch)
        xp = backend._standin
    if not minitl.cuda.has_cuda_kernels(xp):
        pytest.skip("no C compiler for the stand-in's kernels")
    return xp


@pytest.fixture
def standin(monkeypatch):
    """The stand-in module itself, active for this test (its COUNTS reset)."""
    use_standin(monkeypatch)
    return backend._standin


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global seed."""
    minitl.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return numpy.random.default_rng(1234)


@pytest.fixture
def cuda():
    """For tests about moving between devices on a real GPU: such a test is collected only where CuPy and a GPU
    answer (``pytest_collection_modifyitems``)."""
    return "cuda"


def pytest_addoption(parser):
    """``--fuzz-long``: tests/test_io_fuzz.py runs a million cases per format instead of a dozen (hours)."""
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the file-format fuzzers for hours instead of a few seconds")
