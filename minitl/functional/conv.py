"""2-D convolution by im2col: every receptive field becomes a column, the convolution one matrix product.

The input (N, C, H, W) is padded, then ``xp.lib.stride_tricks.sliding_window_view`` shows every kh x kw window
without copying; copying those windows into a matrix of columns (im2col) turns the convolution into
a single ``matmul`` with the weights, batched over groups. The backward is two more products (one
for the weights, one for the columns) and a col2im step that adds each column back into the image
positions it was read from (``col2im``): a loop over the kh*kw kernel offsets, each one strided-slice
``+=`` (deterministic: no scatter, no atomics). ``pool.py`` reuses the window helpers and ``col2im``.

The order of the pixels in the columns is a choice. (N, OH, OW) copies one image row (OW values) at a
time; at stride 1 the batch can go last instead, (OH, OW, N): the image is copied once into
(C, H + 2ph, W + 2pw, N), and then each tap's columns, and each tap's share of col2im, is one slice
whose rows hold OW*N contiguous values, so both run at memory speed. Turning the output (and its
gradient) from and to (N, C, H, W) then costs a transposing copy; ``batch_last_pays`` picks the order
(measured: about 3x less time in col2im for SmallCNN's second and third convolutions, ~15% of their backward).
On the GPU (CuPy 14 has no cuDNN) im2col and col2im are one CUDA kernel each, beside this code in
``conv_cuda.py`` (col2im as a deterministic gather); the GEMM is cuBLAS through ``matmul`` either way.

Talks to: ``autograd.py`` (Function), ``backend.py`` (array module, sliding windows).
"""
import numbers

from ..autograd import Function
from ..backend import get_array_module, has_cuda_kernels
from . import conv_cuda


def pair(value, name):
    """``3`` -> ``(3, 3)``; a pair passes through. PyTorch accepts both for stride, padding, ..."""
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, numbers.Integral) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def conv_padding(padding, kernel, stride, dilation):
    """The (ph, pw) padding of a convolution; ``"valid"`` is no padding, ``"same"`` keeps H and W.

    ``"same"`` pads d (k - 1) / 2 on each side, which needs stride 1 and an odd effective kernel
    d (k - 1) + 1 (an even one would need more padding on one side than the other).
    """
    if not isinstance(padding, str):
        return pair(padding, "padding")
    if padding == "valid":
        return 0, 0
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
    if any(d * (k - 1) % 2 for k, d in zip(kernel, dilation)):
        raise ValueError(f"conv2d: padding='same' needs an odd effective kernel dilation * (kernel - 1) + 1, got "
                         f"kernel {kernel} with dilation {dilation}; pad explicitly (F.pad) instead")
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))


def output_size(size, kernel, stride, padding, dilation=1):
    """How many windows fit along one axis: floor((size + 2 pad - dilation (kernel - 1) - 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pad_hw(x, padding, value=0.0):
    """Pad the two spatial axes of an (N, C, H, W) array with a constant (no copy when padding is 0)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    widths = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)


def windows(x_padded, kernel, stride, dilation):
    """A view (N, C, OH, OW, kh, kw) of every window of a padded (N, C, H, W) array; nothing is copied.

    ``sliding_window_view`` gives every window at stride 1 and dilation 1 over the dilated extent;
    the step slices then keep every ``stride``-th window and every ``dilation``-th tap inside it.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    xp = get_array_module(x_padded)
    view = xp.lib.stride_tricks.sliding_window_view(x_padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def window_tap(i, j, out_hw, stride, dilation):
    """Index of the padded-image pixels that kernel tap (i, j) reads, one per output pixel.

    ``padded[window_tap(...)]`` is an (N, C, OH, OW) strided view: add into it to undo the windows.
    """
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
    cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
    return (slice(None), slice(None), rows, cols)


def crop_hw(padded, padding, hw):
    """The (H, W) centre of a padded (N, C, H + 2 ph, W + 2 pw) array: undoes ``pad_hw``."""
    (ph, pw), (h, w) = padding, hw
    return padded[:, :, ph:ph + h, pw:pw + w]


def col2im(tap_grad, grad, x_shape, x_dtype, kernel, stride, padding, dilation, columns=None):
    """The gradient of an (N, C, H, W) input from the gradients of what each kernel tap read: undoes ``windows``.

    ``tap_grad(i, j)`` gives the (N, C, OH, OW) gradient of the pixels tap (i, j) read (``grad`` is
    the op's output gradient, for its OH, OW and array module). Each tap adds its share back where it
    read from, in a zero-padded image that is cropped at the end: overlapping windows add up.
    ``columns``: the same gradients as one (N, C, kh, kw, OH, OW) array (any strided view), when the
    caller has it: on the GPU one gather kernel then replaces the loop over taps (conv_cuda.py).
    """
    if columns is not None and has_cuda_kernels(get_array_module(columns)):
        return conv_cuda.col2im(columns, x_shape, x_dtype, kernel, stride, padding, dilation)
    (n, c, h, w), (kh, kw), (ph, pw) = x_shape, kernel, padding
    g_padded = get_array_module(grad).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x_dtype)
    for i in range(kh):
        for j in range(kw):
            g_padded[window_tap(i, j, grad.shape[2:], stride, dilation)] += tap_grad(i, j)
    return crop_hw(g_padded, padding, (h, w))


def im2col(x, kernel, stride, padding, dilation, groups):
    """x (N, C, H, W) -> (columns (G, C/G*kh*kw, N*OH*OW), (OH, OW)): every window as a column.

    On the GPU one kernel builds the columns straight from the unpadded image (conv_cuda.py)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    kh, kw = kernel
    out_hw = tuple(output_size(*args) for args in zip((h, w), kernel, stride, padding, dilation))
    if has_cuda_kernels(xp):
        return conv_cuda.im2col(x, kernel, stride, padding, dilation, groups, out_hw), out_hw
    view = windows(pad_hw(x, padding), kernel, stride, dilation)
    oh, ow = out_hw
    # (N, C, OH, OW, kh, kw) -> (G, Cg*kh*kw, N*OH*OW); this copy is the memory cost of im2col
    view = view.reshape(n, groups, c // groups, oh, ow, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
    return xp.ascontiguousarray(view).reshape(groups, -1, n * oh * ow), out_hw


def batch_last_pays(xp, channels, weight_shape, stride, input_grad):
    """Whether the columns take the batch-last pixel order (OH, OW, N) (measured on SmallCNN's shapes).

    Only at stride 1 (a stride breaks the contiguous OW*N rows), on the CPU, when the input's gradient
    is wanted, and when the columns (C*kh*kw rows) are at least twice the output's O rows: the gain is
    mostly col2im's (~3x faster), and it must outweigh transposing the output and its gradient. In the
    forward alone the faster im2col and the transposes about cancel, so inference keeps (N, OH, OW).
    """
    out_channels, _, kh, kw = weight_shape
    return (stride == (1, 1) and input_grad and not has_cuda_kernels(xp)
            and channels * kh * kw >= 2 * out_channels)


def batch_last_im2col(x, kernel, stride, padding, dilation, groups):
    """Stride-1 im2col with the batch last: x (N, C, H, W) -> (columns (G, C/G*kh*kw, OH*OW*N), (OH, OW)).

    One transposing copy puts x, zero-padded, into (C, H + 2ph, W + 2pw, N); tap (i, j)'s columns are
    then its slice [:, i*dh : i*dh + OH, j*dw : j*dw + OW], OW*N contiguous values a row."""
    xp = get_array_module(x)
    (n, c, h, w), (kh, kw), (ph, pw), (dh, dw) = x.shape, kernel, padding, dilation
    oh, ow = (output_size(*args) for args in zip((h, w), kernel, stride, padding, dilation))
    x_last = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    x_last[:, ph:ph + h, pw:pw + w] = x.transpose(1, 2, 3, 0)
    cols = xp.empty((c, kh, kw, oh, ow, n), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = x_last[:, i * dh:i * dh + oh, j * dw:j * dw + ow]
    return cols.reshape(groups, -1, oh * ow * n), (oh, ow)


def batch_last_col2im(d_cols, x_shape, kernel, padding, dilation):
    """Undo ``batch_last_im2col``: column gradients (G, C/G*kh*kw, OH*OW*N) -> the (N, C, H, W) input gradient.

    Each tap adds its (C, OH, OW, N) slice back where it read from; overlapping windows add up."""
    xp = get_array_module(d_cols)
    (n, c, h, w), (kh, kw), (ph, pw), (dh, dw) = x_shape, kernel, padding, dilation
    oh, ow = h + 2 * ph - dh * (kh - 1), w + 2 * pw - dw * (kw - 1)
    d_cols = d_cols.reshape(c, kh, kw, oh, ow, n)
    g_last = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=d_cols.dtype)
    for i in range(kh):
        for j in range(kw):
            g_last[:, i * dh:i * dh + oh, j * dw:j * dw + ow] += d_cols[:, i, j]
    return xp.ascontiguousarray(g_last[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2))


CHUNK_BYTES = 2 * 2 ** 20  # columns + product of one chunk of images: about a core's L2 cache
CHUNK_MIN_PIXELS = 4096  # but never fewer output pixels than this: a narrower product loses more than the cache


def images_per_chunk(x_shape, weight_shape, out_hw, itemsize):
    """How many images' columns (C*kh*kw rows) and product (O rows) fit in ``CHUNK_BYTES``, but at least
    ``CHUNK_MIN_PIXELS`` output pixels (and one image).

    Measured at batch 256, 1 thread: SmallCNN's first convolution 14 -> 8 ms, its second 47 -> 35 ms,
    when the columns are not kept (inference, a frozen weight); the whole batch at once spills to memory.
    Without the floor, resnet18's products of a few hundred pixels ran ~8% slower than the whole batch.
    """
    out_channels, _, kh, kw = weight_shape
    rows, pixels = x_shape[1] * kh * kw + out_channels, out_hw[0] * out_hw[1]
    return max(1, CHUNK_BYTES // (rows * pixels * itemsize), -(-CHUNK_MIN_PIXELS // pixels))


# (N, O, OH, OW) -> the columns' pixel order, channels first: (O, N, OH, OW), or batch last (O, OH, OW, N)
TO_PIXEL_ORDER = {False: (1, 0, 2, 3), True: (1, 2, 3, 0)}
FROM_PIXEL_ORDER = {False: (1, 0, 2, 3), True: (3, 0, 1, 2)}


class Conv2d(Function):
    # y = W * x + b (each output: one kernel dotted with one window of x) ;  dL/dW = sum over windows of g x_window,
    # dL/dx = g spread back through W onto each window (a transposed conv), dL/db = sum of g over N, H, W
    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        out_channels, _, kh, kw = weight.shape
        self.batch_last = batch_last_pays(xp, c, weight.shape, self.stride, self.needs_input_grad[0])
        oh, ow = (output_size(*args) for args in zip(x.shape[2:], (kh, kw), self.stride, self.padding, self.dilation))
        out = xp.empty((n, out_channels, oh, ow), dtype=xp.result_type(x.dtype, weight.dtype))
        # frozen (effect 2, per input): the columns serve only the weight's gradient, so a frozen weight
        # saves no im2col copy even where the node is recorded (an input below still needs its gradient).
        # Columns nobody keeps are built a few images at a time, so they and the product stay in cache.
        keep = self.needs_input_grad[1]
        whole = keep or self.batch_last or has_cuda_kernels(xp)  # (a GPU wants one large product)
        step = n if whole else images_per_chunk(x.shape, weight.shape, (oh, ow), out.itemsize)
        for start in range(0, n, step):
            cols = self.columns_product(x[start:start + step], weight, bias, out[start:start + step])
        self.cols = cols if keep else None
        self.weight, self.x_shape, self.x_dtype = weight, x.shape, x.dtype
        return out

    def columns_product(self, x, weight, bias, out):
        """im2col of x, the product with the weights, written into ``out`` (N, O, OH, OW); returns the columns."""
        xp = get_array_module(x)
        n, out_channels, oh, ow = out.shape
        columns = batch_last_im2col if self.batch_last else im2col
        cols, _ = columns(x, weight.shape[2:], self.stride, self.padding, self.dilation, self.groups)
        w_mat = weight.reshape(self.groups, out_channels // self.groups, -1)
        # the one product, over all pixels of all images at once: (G, Og, K) @ (G, K, N*OH*OW)
        y = _matmul(w_mat, cols)
        y = y.reshape((out_channels, oh, ow, n) if self.batch_last else (out_channels, n, oh, ow))
        y = y.transpose(FROM_PIXEL_ORDER[self.batch_last])
        if bias is None:  # one pass turns the product's channel-major layout into (N, O, OH, OW), adding the bias
            out[...] = y
        else:
            xp.add(y, bias.reshape(1, -1, 1, 1), out=out)
        return cols

    def backward(self, grad):
        xp = get_array_module(grad)
        n, c = self.x_shape[:2]
        out_channels, _, kh, kw = self.weight.shape
        groups, oh, ow = self.groups, grad.shape[2], grad.shape[3]
        needs = self.needs_input_grad
        gx = gw = gb = None
        # the output gradient once in the columns' channel-major pixel order (G, Og, pixels), shared by both products
        g_mat = xp.ascontiguousarray(grad.transpose(TO_PIXEL_ORDER[self.batch_last]))
        g_mat = g_mat.reshape(groups, out_channels // groups, n * oh * ow)
        if needs[1]:
            # dW_g = G_g @ cols_g^T, (Og, K). With more column rows than output channels it is formed as
            # (cols_g @ G_g^T)^T: the same sums, but OpenBLAS (0.3.31, 2 threads) ran the first form 2-10x
            # slower on SmallCNN's shapes (a (64, 12544) @ (12544, 288) product: 9-230 ms against 4-8 ms)
            if self.cols.shape[1] >= g_mat.shape[1]:
                gw = _matmul(self.cols, g_mat.transpose(0, 2, 1)).transpose(0, 2, 1)
            else:
                gw = _matmul(g_mat, self.cols.transpose(0, 2, 1))
            gw = gw.reshape(self.weight.shape)
        if needs[2]:
            gb = g_mat.reshape(out_channels, -1).sum(axis=1)
        if needs[0]:
            # one product for the columns' gradient of every image: (G, K, Og) @ (G, Og, N*OH*OW)
            w_mat = self.weight.reshape(groups, out_channels // groups, -1)
            d_cols = _matmul(w_mat.transpose(0, 2, 1), g_mat)
            if self.batch_last:
                return batch_last_col2im(d_cols, self.x_shape, (kh, kw), self.padding, self.dilation), gw, gb
            d_cols = d_cols.reshape(c, kh, kw, n, oh, ow)
            gx = col2im(lambda i, j: d_cols[:, i, j].transpose(1, 0, 2, 3), grad, self.x_shape, self.x_dtype,
                        (kh, kw), self.stride, self.padding, self.dilation, columns=d_cols.transpose(3, 0, 1, 2, 4, 5))
        return gx, gw, gb


def _matmul(a, b):
    """(G, M, K) @ (G, K, P): with one group a single 2-D GEMM (BLAS reads a transposed operand in place)."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x: (N, C, H, W), weight: (O, C/groups, kh, kw), bias: (O,) -> (N, O, OH, OW) with
    OH = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1; ``padding="same"`` keeps H and W
    (stride 1), ``"valid"`` is 0. ``groups`` splits the channels
    into independent convolutions (groups = C with O = C is a depthwise convolution).
    Notice that nothing here loops over pixels: im2col turns all of them into one matrix product.
    """
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d expects x (N, C, H, W) and weight (O, C/groups, kh, kw), got shapes "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    c, out_channels, c_per_group = x.shape[1], weight.shape[0], weight.shape[1]
    if c % groups or out_channels % groups or c_per_group * groups != c:
        raise ValueError(f"conv2d with groups={groups}: input channels {c} and output channels {out_channels} "
                         f"must divide by groups, and weight.shape[1] ({c_per_group}) must be C/groups")
    kernel = tuple(weight.shape[2:])
    settings = dict(stride=pair(stride, "stride"), dilation=pair(dilation, "dilation"), groups=groups)
    settings["padding"] = conv_padding(padding, kernel, settings["stride"], settings["dilation"])
    for size, k, s, p, d in zip(x.shape[2:], kernel, settings["stride"], settings["padding"], settings["dilation"]):
        if output_size(size, k, s, p, d) < 1:
            raise ValueError(f"conv2d: kernel {kernel} with dilation {settings['dilation']} does not fit the "
                             f"input of spatial size {tuple(x.shape[2:])} padded by {settings['padding']}")
    return Conv2d.apply(x, weight, bias, **settings)
