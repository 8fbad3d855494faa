"""The strict CuPy stand-in refuses what CuPy refuses, counts copies, and plugs into the backend seam."""
import operator
import os
import subprocess
import sys
import textwrap

import numpy
import pytest

import minitl
from minitl import backend


@pytest.fixture
def x(standin):
    return standin.asarray(numpy.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("convert", [
    numpy.asarray, numpy.array, lambda a: numpy.testing.assert_allclose(a, 0), numpy.array2string,
    lambda a: numpy.array([a[0, 0], a[0, 1]]), lambda a: float(a), lambda a: int(a[0]),
    lambda a: numpy.ones(3) + a, lambda a: a * numpy.ones(3), lambda a: numpy.maximum(a, numpy.ones(3)),
], ids=["asarray", "array", "testing", "array2string", "list-of-0d", "float-2d", "int-1d", "numpy+dev",
        "dev*numpy", "ufunc-mixed"])
def test_implicit_conversion_and_mixing_raise_type_error(x, convert):
    with pytest.raises(TypeError):
        convert(x)


def test_module_functions_reject_numpy_arrays(standin, x):
    with pytest.raises(TypeError, match="Unsupported type"):
        standin.where(x > 1, x, numpy.zeros(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        standin.concatenate([x, numpy.zeros((1, 3))])
    with pytest.raises(AttributeError):
        standin.errstate  # noqa: B018 - CuPy has no errstate: code calling xp.errstate fails here too


def test_scalars_mix_and_reductions_stay_on_the_device(standin, x):
    doubled = x * 2.0 * numpy.float32(1.0)
    assert isinstance(doubled, standin.ndarray)
    total = x.sum()
    assert isinstance(total, standin.ndarray) and total.ndim == 0  # a 0-d array, not a NumPy scalar
    assert isinstance(numpy.exp(x), standin.ndarray)  # NumPy ufuncs forward to the device, as on CuPy
    assert isinstance(x[0], standin.ndarray) and [r.shape for r in x] == [(3,), (3,)]
    assert standin.get_array_module(x) is standin and standin.get_array_module(numpy.ones(1)) is numpy


def test_copies_are_counted(standin, x):
    standin.COUNTS.reset()
    y = (x * 3).sum(axis=0)
    assert standin.COUNTS.device_to_host == 0
    numpy.testing.assert_array_equal(y.get(), [9.0, 15.0, 21.0])
    assert float(y[0]) == 9.0 and y[1].item() == 15.0 and standin.asnumpy(y).shape == (3,)
    assert y.tolist() == [9.0, 15.0, 21.0]
    assert standin.COUNTS.device_to_host == 5
    standin.asarray(numpy.ones(2))
    assert standin.COUNTS.host_to_device == 1


def test_random_generator_has_only_cupy_methods(standin):
    rng = standin.random.default_rng(0)
    assert isinstance(rng.random((2, 2), dtype=numpy.float32), standin.ndarray)
    assert rng.standard_normal(3, dtype=numpy.float32).dtype == numpy.float32
    for missing in ("normal", "permutation", "choice", "shuffle"):
        assert not hasattr(rng, missing)


def test_backend_treats_standin_arrays_as_cuda(standin):
    t = minitl.tensor([1.0, 2.0], device="cuda")
    assert t.device == "cuda" and isinstance(t.data, standin.ndarray)
    assert backend.get_array_module(t.data) is standin
    assert isinstance(t.numpy(), numpy.ndarray)
    target = standin.zeros(3)
    backend.scatter_add(target, standin.asarray(numpy.array([0, 0, 2])), standin.asarray(numpy.ones(3)))
    assert target.tolist() == [2.0, 0.0, 1.0]


def test_standin_is_off_outside_the_fixture():
    assert backend._standin is None
    assert minitl.tensor([1.0], device="cpu").device == "cpu"


def test_env_flag_selects_the_standin_for_a_process():
    env = dict(os.environ, MINITL_DEVICE="cuda", MINITL_CUPY_STANDIN="standin_cupy",
               PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))
    code = textwrap.dedent("""
        import minitl
        t = minitl.tensor([1.0, 2.0]) * 2
        assert t.device == "cuda" and type(t.data).__name__ == "ndarray" and type(t.data).__module__ == "standin_cupy"
        print(t.sum().item())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6.0"


def test_out_of_range_integer_indices_wrap_as_on_cupy(standin, x):
    assert x[standin.asarray(numpy.array([2, 3]))].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # 2 rows: 2->0, 3->1


def test_a_device_array_is_not_an_index_as_on_cupy(standin, x):
    count = x.sum().astype(numpy.int64)  # a 0-d integer array on the device
    with pytest.raises(TypeError):
        operator.index(count)  # CuPy arrays have no __index__: range(n) or list[n] needs int(n), a sync
    with pytest.raises(TypeError):
        [0, 1, 2][count]
    assert int(count) == 15


def test_cuda_runtime_answers_device_questions(standin):
    assert minitl.cuda.device_count() == standin.cuda.runtime.getDeviceCount() == 1
    assert standin.cuda.runtime.getDeviceProperties(0)["name"].decode()
    assert standin.cuda.runtime.runtimeGetVersion() // 1000 == 12
