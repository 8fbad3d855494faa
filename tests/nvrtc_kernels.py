"""Compile minitl's CUDA kernels with NVIDIA's NVRTC from PyPI, as CuPy would on a GPU machine -- without a GPU.

CuPy turns ``ElementwiseKernel(in_params, out_params, body, name)`` into a CUDA C++ source at the first
call and hands it to NVRTC. This module rebuilds that source the way CuPy 14 does (written from reading
CuPy's ``_kernel.pyx``, ``_scalar.pyx`` and ``core.pyx``, not copied):

- each ``T``-typed or fixed-typed array becomes a ``CArray<type, ndim, c_contiguous, 32-bit indexing>``
  parameter; an input is ``const``; a non-``raw`` one is named ``_raw_<name>`` and bound in the loop as
  ``const T &x = _raw_x[_ind.get()];`` (``T &y`` for an output); a scalar is ``const long long step``;
  the loop index comes from a ``CIndexer<ndim, 32-bit> _ind`` parameter;
- ``typedef float T;`` (one per type placeholder), ``#include "cupy/float16.cuh"`` first when a
  float16 is used, then ``extern "C" __global__ void name(...)`` whose body is a grid-stride ``CUPY_FOR``
  loop calling ``_ind.set(i);`` then the body followed by ``;``;
- CuPy prepends ``#include <cupy/complex.cuh>``, ``<cupy/carray.cuh>``, ``<cupy/atomics.cuh>``,
  ``<cupy/math_constants.h>`` and compiles with ``--std=c++14 -ftz=true -arch=sm_XX
  --device-as-default-execution-space``.

CuPy's own headers are not on PyPI without CuPy, so ``cupy/carray.cuh`` and ``cupy/float16.cuh`` here are
small reproductions of the interface the kernels touch (``CArray::operator[]`` on a linear or an indexer
index, ``CIndexer``, ``CUPY_FOR``, and ``float16``: a ``__half`` with CuPy's implicit and explicit
conversions and compound assignments); ``complex.cuh``, ``atomics.cuh`` and ``math_constants.h`` are empty
(no minitl kernel uses complex numbers, atomics or CUDART constants). ``cuda_fp16.h`` is NVIDIA's own, from
the ``nvidia-cuda-runtime-cu12`` wheel. So a body that would not compile under CuPy -- a typo, a type
mismatch, a float16 conversion CuPy does not allow, a warning -- fails here too.
"""
import ctypes
import glob
import importlib.util
import os

CUPY_INCLUDES = ("cupy/complex.cuh", "cupy/carray.cuh", "cupy/atomics.cuh", "cupy/math_constants.h")
_TYPENAMES = {"float16": "float16", "float32": "float", "float64": "double", "int64": "long long", "int32": "int",
              "bool": "bool", "uint8": "unsigned char"}

_CARRAY = r"""
#pragma once
#define CUPY_FOR(i, n) \
    for (ptrdiff_t i = static_cast<ptrdiff_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
         i += static_cast<ptrdiff_t>(blockDim.x) * gridDim.x)

template <bool B, class T, class F> struct minitl_pick { typedef T type; };
template <class T, class F> struct minitl_pick<false, T, F> { typedef F type; };

template <typename T, int _ndim, bool _c_contiguous = false, bool _use_32bit_indexing = false>
class CArray {
 public:
  static const int ndim = _ndim;
  typedef typename minitl_pick<_use_32bit_indexing, int, ptrdiff_t>::type index_t;
 private:
  T* data_;
  ptrdiff_t size_;
  ptrdiff_t shape_[_ndim];
  ptrdiff_t strides_[_ndim];  // in bytes
  __device__ char* at(ptrdiff_t i) const {  // a row-major linear index over the shape
    char* address = reinterpret_cast<char*>(data_);
    for (int dim = _ndim - 1; dim > 0; --dim) {
      index_t extent = static_cast<index_t>(shape_[dim]);
      address += static_cast<index_t>(strides_[dim]) * static_cast<index_t>(i % extent);
      i /= extent;
    }
    return address + static_cast<index_t>(strides_[0]) * static_cast<index_t>(i);
  }
  template <typename Int> __device__ char* at_index(const Int* index) const {
    char* address = reinterpret_cast<char*>(data_);
    for (int dim = 0; dim < _ndim; ++dim)
      address += static_cast<index_t>(strides_[dim]) * static_cast<index_t>(index[dim]);
    return address;
  }
 public:
  __device__ ptrdiff_t size() const { return size_; }
  __device__ T& operator[](ptrdiff_t i) {
    return _c_contiguous ? data_[static_cast<index_t>(i)] : *reinterpret_cast<T*>(at(i));
  }
  __device__ const T& operator[](ptrdiff_t i) const {
    return _c_contiguous ? data_[static_cast<index_t>(i)] : *reinterpret_cast<const T*>(at(i));
  }
  template <typename Int> __device__ T& operator[](const Int (&index)[_ndim]) {
    return *reinterpret_cast<T*>(at_index(index));
  }
  template <typename Int> __device__ const T& operator[](const Int (&index)[_ndim]) const {
    return *reinterpret_cast<const T*>(at_index(index));
  }
};

template <int _ndim, bool _use_32bit_indexing = false>
class CIndexer {
 public:
  static const int ndim = _ndim;
 private:
  ptrdiff_t size_;
  ptrdiff_t shape_[_ndim];
  ptrdiff_t index_[_ndim];
 public:
  __device__ ptrdiff_t size() const { return size_; }
  __device__ const ptrdiff_t (&get() const)[_ndim] { return index_; }
  __device__ void set(ptrdiff_t i) {
    for (int dim = _ndim - 1; dim >= 0; --dim) {
      index_[dim] = i % shape_[dim];
      i /= shape_[dim];
    }
  }
};
"""

_FLOAT16 = r"""
#pragma once
#include <cuda_fp16.h>
class float16 {
 private:
  __half data_;
 public:
  __device__ float16() {}
  __device__ float16(float v) : data_(__float2half(v)) {}
  explicit __device__ float16(bool v) : data_(__float2half(float(v))) {}
  explicit __device__ float16(double v) : data_(__double2half(v)) {}
  explicit __device__ float16(int v) : data_(__int2half_rn(v)) {}
  explicit __device__ float16(unsigned int v) : data_(__uint2half_rn(v)) {}
  explicit __device__ float16(long long v) : data_(__ll2half_rn(v)) {}
  explicit __device__ float16(unsigned long long v) : data_(__ull2half_rn(v)) {}
  explicit __device__ float16(const __half& v) : data_(v) {}
  __device__ operator float() const { return __half2float(data_); }
  float16& operator=(const float16&) = default;
  template <typename T> __device__ float16& operator=(const T& rhs) { return *this = static_cast<float16>(rhs); }
  template <typename T> __device__ float16& operator+=(const T& rhs) { return *this = *this + rhs; }
  template <typename T> __device__ float16& operator-=(const T& rhs) { return *this = *this - rhs; }
  template <typename T> __device__ float16& operator*=(const T& rhs) { return *this = *this * rhs; }
  template <typename T> __device__ float16& operator/=(const T& rhs) { return *this = *this / rhs; }
};
"""

HEADERS = {"cupy/complex.cuh": "#pragma once\n", "cupy/carray.cuh": _CARRAY, "cupy/atomics.cuh": "#pragma once\n",
           "cupy/math_constants.h": "#pragma once\n", "cupy/float16.cuh": _FLOAT16}


def parse_params(spec, is_input):
    """``"raw T x, int64 n"`` -> ``[(raw, type, name, is_const), ...]`` (CuPy's ``ParameterInfo``)."""
    params = []
    for part in spec.split(",") if spec.strip() else []:
        words = part.split()
        params.append(("raw" in words[:-2], words[-2], words[-1], is_input))
    return params


def elementwise_source(in_params, out_params, operation, name, args, dtype, index_32_bits=True):
    """The CUDA source CuPy builds for an ``ElementwiseKernel`` call.

    ``args``: per parameter, ``None`` for a scalar, else ``(ndim, c_contiguous)`` of the array passed;
    ``dtype``: what ``T`` is (a NumPy dtype name). Non-raw arrays are C-contiguous here, so CuPy
    reduces them, and the indexer, to one dimension.
    """
    params = parse_params(in_params, True) + parse_params(out_params, False)
    decls, declared, loop = [], set(), []
    for (raw, type_name, param, is_const), arg in zip(params, args):
        dtype_name = dtype if len(type_name) == 1 else type_name  # one letter: a type placeholder
        c_type = _TYPENAMES[dtype_name]
        if dtype_name == "float16":
            declared.add('#include "cupy/float16.cuh"')
        const = "const " if is_const else ""
        if arg is None:
            decls.append(f"{const}{c_type} {param}")
            continue
        ndim, contiguous = (1, True) if not raw else arg
        decls.append(f"{const}CArray<{c_type}, {ndim}, {int(contiguous)}, {int(index_32_bits)}> "
                     f"{param if raw else '_raw_' + param}")
        if not raw:
            reference_type = type_name if len(type_name) == 1 else c_type
            loop.append(f"{const}{reference_type} &{param} = _raw_{param}[_ind.get()];")
    decls.append(f"CIndexer<1, {int(index_32_bits)}> _ind")
    placeholders = sorted({t for _, t, _, _ in params if len(t) == 1})
    typedefs = "".join(f"typedef {_TYPENAMES[dtype]} {t};\n" for t in placeholders)
    type_decls = "\n".join(sorted(declared)) + "\n\n" if declared else ""
    body = "\n".join(loop + [operation])
    kernel = (f"\n    {type_decls}{typedefs}\n    \n    extern \"C\" __global__ void {name}({', '.join(decls)}) {{\n"
              f"      ;\n      #pragma unroll 1\n      CUPY_FOR(i, _ind.size()) {{\n        _ind.set(i);\n"
              f"        {body};\n      }}\n      ;\n    }}\n    ")
    return "".join(f"#include <{h}>\n" for h in CUPY_INCLUDES) + kernel


def _package_folder(package, sub):
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations if spec else []):
        folder = os.path.join(root, package, sub)
        if os.path.isdir(folder):
            return folder
    return None


class NVRTC:
    """libnvrtc (``nvidia-cuda-nvrtc-cu12``) through ctypes, with the CUDA headers of ``nvidia-cuda-runtime-cu12``."""

    def __init__(self):
        lib_folder, self.include = _package_folder("cuda_nvrtc", "lib"), _package_folder("cuda_runtime", "include")
        libraries = sorted(glob.glob(os.path.join(lib_folder, "libnvrtc.so*"))) if lib_folder else []
        libraries = [p for p in libraries if "builtins" not in p and ".alt." not in p]
        if not libraries or not self.include:
            raise FileNotFoundError("NVRTC or the CUDA headers are not installed: pip install -e '.[test]' (it "
                                    "brings nvidia-cuda-nvrtc-cu12 and nvidia-cuda-runtime-cu12)")
        self.library_path = libraries[0]
        self.lib = ctypes.CDLL(self.library_path)
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        self.version = (major.value, minor.value)
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def compile(self, source, arch, headers=HEADERS):
        """``(ok, log)`` for ``source`` compiled to a cubin for ``sm_<arch>`` with CuPy's options."""
        program = ctypes.c_void_p()
        names = [n.encode() for n in headers]
        texts = [t.encode() for t in headers.values()]
        status = self.lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"kern.cu", len(names),
                                             (ctypes.c_char_p * len(texts))(*texts),
                                             (ctypes.c_char_p * len(names))(*names))
        if status:
            raise RuntimeError(self.lib.nvrtcGetErrorString(status).decode())
        options = [b"--std=c++14", f"-I{self.include}".encode(), b"-ftz=true", f"-arch=sm_{arch}".encode(),
                   b"--device-as-default-execution-space"]
        try:
            status = self.lib.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
            size = ctypes.c_size_t()
            self.lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            self.lib.nvrtcGetProgramLog(program, log)
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(program))
        return status == 0, log.value.decode(errors="replace").strip()
