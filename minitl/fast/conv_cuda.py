"""im2col and col2im as two CUDA kernels (CuPy ``ElementwiseKernel``): the GPU twin of conv.py's NumPy code.

minitl calls no cuDNN convolution, so a convolution on the GPU is im2col + one cuBLAS GEMM, exactly as on
the CPU. What changes is how the columns are built and undone:

- ``im2col``: one thread per element of the column matrix (G, Cg*kh*kw, N*OH*OW) reads its pixel of the
  *unpadded* image, or writes 0 where the window hangs over the border: no padded copy of the input,
  no strided view, one pass.
- ``col2im``: the *gather* form, one thread per input pixel summing every (tap, output pixel) that
  read it, in a fixed order: deterministic (no atomicAdd scatter), and no Python loop over the
  kh*kw taps (the NumPy code's loop of strided ``+=``).

Index math, for tap (ki, kj) of output pixel (oh, ow): ih = oh*sh - ph + ki*dh (iw likewise). The
gather inverts it: oh = (ih + ph - ki*dh) / sh when that divides exactly and lands in 0..OH-1.

Used by conv.py only when ``minitl.cuda.has_cuda_kernels(xp)``: real CuPy, or the test stand-in when it can
compile these kernel bodies as C on the CPU (tests/standin_cupy.py); NumPy never comes here.
"""
import numpy

from ..core.backend import get_array_module

_IM2COL = """
    // i runs over the columns (C*kh*kw, N*OH*OW), row-major: decode (c, ki, kj, img, oh, ow)
    long long ow = i % out_w;  long long t = i / out_w;
    long long oh = t % out_h;  t /= out_h;
    long long img = t % batch; t /= batch;
    long long kj = t % kernel_w; t /= kernel_w;
    long long ki = t % kernel_h; long long c = t / kernel_h;
    long long ih = oh * stride_h - pad_h + ki * dilation_h;
    long long iw = ow * stride_w - pad_w + kj * dilation_w;
    bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
    cols = inside ? x[((img * channels + c) * height + ih) * width + iw] : (T)0;
"""

def gather_over_windows(body):
    """The C loop over every tap (ki, kj) whose window read input pixel (ih, iw): ``body`` runs with the output
    pixel (oh, ow) of that window. The gather form shared by col2im and max-pool's backward: oh = (ih + ph -
    ki*dh) / sh when that divides exactly and lands in 0..OH-1 (ow likewise)."""
    return """
    for (long long ki = 0; ki < kernel_h; ++ki) {
        long long oh_s = ih + pad_h - ki * dilation_h;
        if (oh_s < 0 || oh_s % stride_h != 0 || oh_s / stride_h >= out_h) continue;
        long long oh = oh_s / stride_h;
        for (long long kj = 0; kj < kernel_w; ++kj) {
            long long ow_s = iw + pad_w - kj * dilation_w;
            if (ow_s < 0 || ow_s % stride_w != 0 || ow_s / stride_w >= out_w) continue;
            long long ow = ow_s / stride_w;
            """ + body + """
        }
    }"""


_COL2IM = """
    // i runs over the input gradient (N, C, H, W): decode (img, c, ih, iw), then gather every tap that read it
    long long iw = i % width;  long long t = i / width;
    long long ih = t % height; t /= height;
    long long c = t % channels; long long img = t / channels;
    T total = (T)0;""" + gather_over_windows(
    "total += cols[img * s_img + c * s_c + ki * s_ki + kj * s_kj + oh * s_oh + ow * s_ow];") + """
    gx = total;
"""

GEOMETRY = ("int64 batch, int64 channels, int64 height, int64 width, int64 out_h, int64 out_w, "
             "int64 kernel_h, int64 kernel_w, int64 stride_h, int64 stride_w, int64 pad_h, int64 pad_w, "
             "int64 dilation_h, int64 dilation_w")
_kernels = {}  # (array module, name) -> compiled ElementwiseKernel
_COL2IM_STRIDES = "int64 s_img, int64 s_c, int64 s_ki, int64 s_kj, int64 s_oh, int64 s_ow"


def elementwise_kernel(xp, name, in_params, out_params, body):
    """``xp.ElementwiseKernel`` built once per array module and name (CuPy compiles it on first call)."""
    if (xp, name) not in _kernels:
        _kernels[xp, name] = xp.ElementwiseKernel(in_params, out_params, body, f"minitl_{name}")
    return _kernels[xp, name]


def geometry(x_shape, out_hw, kernel, stride, padding, dilation):
    values = (*x_shape, *out_hw, *kernel, *stride, *padding, *dilation)
    return [numpy.int64(v) for v in values]


def im2col(x, kernel, stride, padding, dilation, groups, out_hw):
    """x (N, C, H, W) -> columns (G, C/G*kh*kw, N*OH*OW) in one kernel, zero outside the image."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = xp.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    elementwise_kernel(xp, "im2col", f"raw T x, {GEOMETRY}", "T cols", _IM2COL)(
        xp.ascontiguousarray(x), *geometry(x.shape, out_hw, kernel, stride, padding, dilation), cols)
    return cols.reshape(groups, -1, n * oh * ow)


def col2im(columns, x_shape, x_dtype, kernel, stride, padding, dilation):
    """Columns' gradient (N, C, kh, kw, OH, OW) -- any strided view -- -> input gradient (N, C, H, W).

    The kernel reads ``columns`` through its own strides, so a transposed view costs no copy.
    """
    xp = get_array_module(columns)
    columns = columns.astype(x_dtype, copy=False)
    itemsize = columns.dtype.itemsize
    # the same memory seen as one C-contiguous array (axes sorted by stride), indexed by element strides
    order = sorted(range(6), key=lambda axis: -columns.strides[axis])
    base = columns.transpose(order)
    if not base.flags.c_contiguous:
        columns = xp.ascontiguousarray(columns)
        base = columns
    strides = [numpy.int64(s // itemsize) for s in columns.strides]
    gx = xp.empty(x_shape, dtype=x_dtype)
    elementwise_kernel(xp, "col2im", f"raw T cols, {GEOMETRY}, {_COL2IM_STRIDES}", "T gx", _COL2IM)(
        base, *geometry(x_shape, columns.shape[4:], kernel, stride, padding, dilation), *strides, gx)
    return gx
