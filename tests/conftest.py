"""Shared fixtures: the ``device`` fixture runs a test on NumPy and, when CuPy and a GPU answer, on CuPy."""
import numpy
import pytest

import minitl
from minitl import backend

DEVICES = ["cpu"] + (["cuda"] if backend.is_gpu_available() else [])


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """'cpu' always; 'cuda' only where CuPy and a GPU are present (skipped otherwise)."""
    if request.param == "cuda" and not backend.is_gpu_available():
        pytest.skip("CuPy with a CUDA GPU is not available")
    return request.param


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
    """For tests about moving between devices: skipped unless CuPy and a GPU are present."""
    if not backend.is_gpu_available():
        pytest.skip("CuPy with a CUDA GPU is not available")
    return "cuda"


def pytest_addoption(parser):
    """``--fuzz-long``: tests/test_io_fuzz.py runs a million cases per format instead of a dozen (hours)."""
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the file-format fuzzers for hours instead of a few seconds")
