"""Every CUDA kernel minitl contains compiles cleanly with NVRTC, as CuPy would build it, for sm_75, sm_80 and sm_90,
in every dtype it runs in -- on a machine without a GPU (NVRTC and the CUDA headers come from PyPI: the test extra).

Which kernels: every ``elementwise_kernel(...)`` / ``ElementwiseKernel(...)`` / ``RawKernel(...)`` call in minitl's
source, found by reading it (so a new kernel is compiled without being listed here). How each is called (the dtype of
``T``, each array's rank): recorded from real calls, by running convolution, max-pool and the GPU availability check
forward and backward on the CuPy stand-in in float16, float32 and float64. The source CuPy would build from that is
``nvrtc_kernels.elementwise_source``; any error or warning fails.
"""
import ast
import functools
import sys
from pathlib import Path

import numpy
import pytest

import minitl
import nvrtc_kernels
from minitl import backend
from minitl.fast import conv_cuda

ROOT = Path(minitl.__file__).resolve().parent
ARCHITECTURES = (75, 80, 90)  # Turing (T4), Ampere (A100), Hopper (H100)
DTYPES = ("float16", "float32", "float64")
FACTORY = "elementwise_kernel"  # conv_cuda's cache: the one place ElementwiseKernel is built from variables


def kernel_calls_in_the_source():
    """``{kernel name: (file, in_params, out_params, body)}`` for every kernel built in minitl's source."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        if "Kernel(" not in text and f"{FACTORY}(" not in text:
            continue
        module = sys.modules.get(f"minitl.{path.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.')}")
        tree = ast.parse(text)
        factories = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == FACTORY
                     for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in factories:
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called not in (FACTORY, "ElementwiseKernel", "RawKernel"):
                continue
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            try:
                arguments = node.args[1:5] if called == FACTORY else node.args  # the factory's first is xp
                values = [eval(compile(ast.Expression(a), where, "eval"), vars(module)) for a in arguments]
            except Exception as exc:
                raise AssertionError(f"{where}: {called}'s arguments must be module-level constants, so this test "
                                     f"can compile the kernel ({exc})") from exc
            if called == FACTORY:
                name, in_params, out_params, body = f"minitl_{values[0]}", *values[1:]
            elif called == "ElementwiseKernel":
                in_params, out_params, body, name = values[:4]
            else:
                raise AssertionError(f"{where}: RawKernel: add its code generation to nvrtc_kernels.py")
            found[name] = (where, in_params, out_params, body)
    return found


@functools.lru_cache(maxsize=1)
def recorded_calls():
    """``{(kernel name, dtype of T): (in_params, out_params, body, [(ndim, c_contiguous) or None per argument])}``."""
    import standin_cupy
    import standin_kernels

    if not hasattr(standin_kernels, "ElementwiseKernel"):
        pytest.skip("no C compiler: the stand-in cannot run the kernels whose calls this test records")
    calls = {}

    class Recording(standin_kernels.ElementwiseKernel):
        def __call__(self, *args):
            typed = [a for a, (_, t, _, _) in zip(args, self.params) if len(t) == 1]
            shapes = [(a.ndim, bool(a._a.flags.c_contiguous)) if hasattr(a, "_a") else None for a in args]
            calls[self.name, typed[0].dtype.name if typed else "-"] = (self.spec, shapes)
            return super().__call__(*args)

        def __init__(self, in_params, out_params, operation, name="kernel", **options):
            super().__init__(in_params, out_params, operation, name, **options)
            self.spec = (in_params, out_params, operation)

    saved = (standin_cupy.ElementwiseKernel, conv_cuda._kernels, backend._standin)
    standin_cupy.ElementwiseKernel, conv_cuda._kernels = Recording, {}
    backend.use_gpu_standin(standin_cupy)
    try:
        for dtype in DTYPES:
            rng = numpy.random.default_rng(0)
            x = minitl.tensor(rng.standard_normal((2, 4, 7, 6)), dtype=dtype, device="cuda", requires_grad=True)
            w = minitl.tensor(rng.standard_normal((4, 2, 3, 3)), dtype=dtype, device="cuda", requires_grad=True)
            y = minitl.nn.functional.conv2d(x, w, padding=1, stride=(2, 1), groups=2)
            y = minitl.nn.functional.max_pool2d(y, 2, 1, 1)
            y.sum().backward()
        assert minitl.cuda.first_operation_error(standin_cupy) is None
    finally:
        standin_cupy.ElementwiseKernel, conv_cuda._kernels = saved[:2]
        backend.use_gpu_standin(saved[2])
    return calls


def test_every_kernel_in_the_source_is_called_in_every_dtype():
    in_source, calls = kernel_calls_in_the_source(), recorded_calls()
    assert set(in_source) == {name for name, _ in calls}, "a kernel in the source is never called here: add a case"
    assert len(in_source) >= 5  # im2col, col2im, max-pool forward and backward, the availability check
    for name, (where, in_params, out_params, body) in in_source.items():
        dtypes = {dtype for kernel, dtype in calls if kernel == name}
        assert calls[name, sorted(dtypes)[0]][0] == (in_params, out_params, body), where
        if "T " in in_params + out_params and name != "minitl_first_op":  # that one runs in float32 only
            assert dtypes == set(DTYPES), f"{where}: {name} ran in {sorted(dtypes)} only"


@pytest.fixture(scope="module")
def nvrtc():
    try:
        return nvrtc_kernels.NVRTC()
    except (FileNotFoundError, OSError) as exc:
        if sys.platform.startswith("linux"):
            raise  # the test extra installs NVRTC on Linux: its absence is a broken install, not a skip
        pytest.skip(str(exc))


def _problems(nvrtc, arch, index_32_bits):
    problems = []
    for (name, dtype), ((in_params, out_params, body), shapes) in sorted(recorded_calls().items()):
        source = nvrtc_kernels.elementwise_source(in_params, out_params, body, name, shapes,
                                                  "float32" if dtype == "-" else dtype, index_32_bits)
        ok, log = nvrtc.compile(source, arch)
        if not ok or log:
            problems.append(f"{name} ({dtype}, sm_{arch}, {32 if index_32_bits else 64}-bit indexing):\n{log}")
    return problems


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_kernel_compiles_without_a_warning(nvrtc, arch):
    assert _problems(nvrtc, arch, index_32_bits=True) == []


def test_every_kernel_compiles_with_64_bit_indexing(nvrtc):
    """Arrays past 2 GiB: CuPy then indexes with ptrdiff_t, a separate instantiation."""
    assert _problems(nvrtc, ARCHITECTURES[0], index_32_bits=False) == []


@pytest.mark.parametrize("body, expected", [
    ("y = x + undeclared;", "undefined"),                   # an error
    ("int unused; y = x;", "declared but never referenced"),  # a warning: it fails the check too
    ("y = x + 1.0;", ""),                                    # float16 + double: CuPy's float16 converts to float
])
def test_the_check_sees_errors_and_warnings(nvrtc, body, expected):
    source = nvrtc_kernels.elementwise_source("T x", "T y", body, "probe", [(1, True), (1, True)], "float16")
    ok, log = nvrtc.compile(source, 80)
    assert (ok and not log) == (expected == ""), log
    assert expected in log
