"""CuPy's ``ElementwiseKernel`` for the strict stand-in (standin_cupy.py): the kernel's C body compiled as C.

Simple bodies only: ``raw`` and element-wise array parameters, typed scalars, one type placeholder
``T`` (float16, float32 or float64), C-contiguous arrays, no broadcasting. The body runs in a C loop over
``i``, so the index math of minitl's GPU kernels is tested on the CPU exactly as written. Without a C
compiler ``ElementwiseKernel`` is absent, and minitl's ops take their portable array path on the stand-in
(``minitl.cuda.has_cuda_kernels``).
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy

# float16: C's _Float16 (GCC 12+ on x86-64 and ARM), computed in float and rounded to half at each store, as
# CuPy's float16 type does on the GPU
_C_TYPES = {"float16": "_Float16", "float32": "float", "float64": "double", "int64": "long long", "int32": "int",
            "bool": "_Bool", "uint8": "unsigned char"}


class _ElementwiseKernel:
    """CuPy's ``ElementwiseKernel`` for simple bodies: raw and element-wise array params, typed scalars, one
    type placeholder ``T``, contiguous arrays, no broadcasting. The body runs as C in a loop over ``i``,
    so the kernel's index math is tested here exactly as written for the GPU."""

    def __init__(self, in_params, out_params, operation, name="kernel", **_):
        def parse(spec, is_out):
            params = []
            for part in spec.split(","):
                words = part.split()
                raw = words[0] == "raw"
                params.append((raw, words[-2], words[-1], is_out))
            return params
        self.params = parse(in_params, False) + parse(out_params, True)
        self.operation, self.name, self._compiled = operation, name, {}

    def _library(self, c_type):
        if c_type in self._compiled:
            return self._compiled[c_type]

        args, defines = ["long long _size"], []
        for raw, type_name, name, is_out in self.params:
            c = c_type if type_name == "T" else _C_TYPES[type_name]
            if type_name == "T" or raw or is_out:
                args.append(f"{'' if is_out else 'const '}{c}* {name if raw else '_p_' + name}")
                if not raw:
                    defines.append(f"#define {name} (_p_{name}[i])")
            else:
                args.append(f"{c} {name}")
        source = ("#include <stdbool.h>\ntypedef " + c_type + " T;\n" + "\n".join(defines)
                  + f"\nvoid run({', '.join(args)}) {{\n  for (long long i = 0; i < _size; ++i) {{\n"
                  + self.operation + ";\n  }\n}\n")  # ";": CuPy ends the body so too
        digest = hashlib.sha256((source + " ".join(_FLAGS)).encode()).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), f"standin_cupy_{os.getuid()}")
        os.makedirs(folder, exist_ok=True)
        library = os.path.join(folder, f"{self.name}_{digest}.so")
        if not os.path.exists(library):
            c_file = library[:-3] + f".{os.getpid()}.c"
            with open(c_file, "w") as handle:
                handle.write(source)
            partial = library + f".{os.getpid()}"
            subprocess.run([_C_COMPILER, *_FLAGS, "-o", partial, c_file], check=True,
                           capture_output=True)
            os.replace(partial, library)
        function = ctypes.CDLL(library).run
        function.restype = None
        self._compiled[c_type] = function
        return function

    def __call__(self, *args):
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: expected {len(self.params)} arguments, got {len(args)}")
        arrays = [a for a, (raw, t, _, _) in zip(args, self.params) if t == "T"]
        dtype = arrays[0].dtype
        c_type = _C_TYPES[dtype.name]
        size, call = None, []
        for value, (raw, type_name, name, is_out) in zip(args, self.params):
            if isinstance(value, numpy.ndarray):
                raise TypeError(f"Unsupported type {numpy.ndarray} (kernel argument {name})")
            if hasattr(value, "_a"):  # a stand-in device array (standin_cupy.ndarray)
                if not value._a.flags.c_contiguous or (type_name == "T" and value.dtype != dtype):
                    raise TypeError(f"{self.name}: argument {name} must be C-contiguous {dtype} here")
                if not raw:
                    size = value.size
                call.append(ctypes.c_void_p(value._a.ctypes.data))
            else:
                c = {"int64": ctypes.c_longlong, "int32": ctypes.c_int, "float64": ctypes.c_double,
                     "float32": ctypes.c_float}[type_name]
                call.append(c(value))
        self._library(c_type)(ctypes.c_longlong(size), *call)


_C_COMPILER = shutil.which("cc") or shutil.which("gcc")
# excess precision "standard": a _Float16 is rounded at every assignment, never kept as a float across statements
_FLAGS = ("-O2", "-shared", "-fPIC", "-fexcess-precision=standard")
if _C_COMPILER:
    ElementwiseKernel = _ElementwiseKernel


