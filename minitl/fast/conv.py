"""The convolution's fast twin: ``FastConv2d`` computes what ``core/ops/conv.py``'s ``Conv2d`` computes, faster.

It registers itself over the reference (``seams.register_fast_path``) when ``minitl`` is imported;
``tests/test_fast_paths.py`` holds the two equal, values and gradients, on the same inputs. What it
adds, each a speed choice the reference does not need (timings: ``benchmarks/README.md``):

* the batch-last pixel order: at stride 1 the columns can hold the batch last, (OH, OW, N): the image
  is copied once into (C, H + 2ph, W + 2pw, N), and then each tap's columns, and each tap's share of
  col2im, is one slice whose rows hold OW*N contiguous values, so both run at memory speed. Turning
  the output (and its gradient) from and to (N, C, H, W) then costs a transposing copy;
  ``batch_last_pays`` picks the order;
* cache-sized chunks: columns nobody keeps (inference, a frozen weight) are built a few images at a
  time, so they and the product stay in cache (``images_per_chunk``);
* the columns of a stride-1 convolution whose output is as wide as its input ("same" width, a 3x3
  with padding 1) cut as long contiguous runs of the flattened image (``SameWidthColumns``), into
  buffers reused from chunk to chunk; where the columns have fewer rows than the output has channels
  (a first layer), each image's product is written straight into the output (``per_image_pays``);
* the GEMM orientation of the weight gradient: with more column rows than output channels it is
  formed as (cols_g @ G_g^T)^T, the same sums in an order some BLAS builds run much faster;
* on the GPU, im2col and col2im as one CUDA kernel each (``conv_cuda.py``; col2im as a deterministic
  gather); the GEMM is cuBLAS through ``matmul`` either way.
"""
from ..core import seams
from ..core.backend import get_array_module
from ..core.ops.conv import Conv2d, col2im, im2col, output_size
from ..cuda import has_cuda_kernels
from . import conv_cuda


def im2col_on_device(x, kernel, stride, padding, dilation, groups):
    """``im2col``; on the GPU one kernel builds the columns straight from the unpadded image."""
    if has_cuda_kernels(get_array_module(x)):
        out_hw = tuple(output_size(*args) for args in zip(x.shape[2:], kernel, stride, padding, dilation))
        return conv_cuda.im2col(x, kernel, stride, padding, dilation, groups, out_hw), out_hw
    return im2col(x, kernel, stride, padding, dilation, groups)


def col2im_on_device(tap_grad, grad, x_shape, x_dtype, kernel, stride, padding, dilation, columns):
    """``col2im``; ``columns`` holds the same gradients as one (N, C, kh, kw, OH, OW) array, and on the
    GPU one gather kernel reads it instead of the loop over taps."""
    if has_cuda_kernels(get_array_module(columns)):
        return conv_cuda.col2im(columns, x_shape, x_dtype, kernel, stride, padding, dilation)
    return col2im(tap_grad, grad, x_shape, x_dtype, kernel, stride, padding, dilation)


def batch_last_pays(xp, channels, weight_shape, stride, input_grad):
    """Whether the columns take the batch-last pixel order (OH, OW, N) (benchmarks/README.md: the measurements).

    Only at stride 1 (a stride breaks the contiguous OW*N rows), on the CPU, when the input's gradient
    is wanted, and when the columns (C*kh*kw rows) are at least twice the output's O rows: the gain is
    mostly col2im's, and it must outweigh transposing the output and its gradient. In the
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


def same_width_pays(xp, kernel, stride, padding, dilation):
    """Whether ``SameWidthColumns`` can build the columns: on the CPU, at stride 1, where the output is as
    wide as the input (2 pw = dw (kw - 1)), so a tap's pixels, row after row, are one run of the flat image."""
    return (not has_cuda_kernels(xp) and stride == (1, 1)
            and 2 * padding[1] == dilation[1] * (kernel[1] - 1))


class SameWidthColumns:
    """im2col for ``same_width_pays`` convolutions, a chunk of images at a time, into buffers reused across chunks.

    Each image channel is flattened into one row of the padded buffer: pw zeros, ph zero rows, the
    H x W pixels, ph zero rows, pw zeros. Because the output is W wide, the pixels tap (i, j) reads for
    the OH x W outputs in raster order are one contiguous run of that row, starting i*dh rows and j*dw
    values in. Each tap's columns are then a copy of long contiguous runs, at memory speed, instead of
    the OW-long pieces of the windows' view. The price: where a tap reaches past the left or right edge,
    the run holds the neighbouring row's pixels instead of the padding's zeros, so those columns
    (the first pw - j*dw or the last j*dw - pw of each output row) are zeroed after the copy.

    ``per_image``: the columns of each image in one block, (N, G, Cg*kh*kw, OH*OW), for a product per
    image; otherwise im2col's layout, (G, Cg*kh*kw, N*OH*OW). Called like ``im2col``.
    """

    def __init__(self, xp, x_shape, dtype, kernel, padding, dilation, images, per_image):
        _, c, h, w = x_shape
        (kh, kw), (ph, pw), dh = kernel, padding, dilation[0]
        self.oh = h + 2 * ph - dh * (kh - 1)
        self.kernel, self.dilation, self.per_image = kernel, dilation, per_image
        self.first = pw + ph * w  # where the image starts in its padded row
        # the padding's zeros are written once: each chunk rewrites only the image part of the padded rows
        self.padded = xp.zeros((images, c, (h + 2 * ph) * w + 2 * pw), dtype=dtype)
        self.columns = xp.empty(images * c * kh * kw * self.oh * w, dtype=dtype)

    def __call__(self, x, kernel, stride, padding, dilation, groups):
        n, c, h, w = x.shape
        (kh, kw), (dh, dw), oh, pw = self.kernel, self.dilation, self.oh, padding[1]
        padded = self.padded[:n]
        padded[:, :, self.first:self.first + h * w].reshape(n, c, h, w)[...] = x
        pixels = oh * w
        cols = self.columns[:n * c * kh * kw * pixels]
        if self.per_image:
            cols, rows = cols.reshape(n, c, kh, kw, pixels), padded
        else:
            cols, rows = cols.reshape(c, kh, kw, n, pixels), padded.transpose(1, 0, 2)
        for i in range(kh):
            for j in range(kw):
                tap = cols[:, :, i, j] if self.per_image else cols[:, i, j]
                start = i * dh * w + j * dw
                tap[...] = rows[:, :, start:start + pixels]
                by_row = tap.reshape(*tap.shape[:2], oh, w)
                left, right = pw - j * dw, j * dw - pw  # columns past the left, the right edge
                if left > 0:
                    by_row[..., :left] = 0
                if right > 0:
                    by_row[..., max(w - right, 0):] = 0
        if self.per_image:
            return cols.reshape(n, groups, -1, pixels), (oh, w)
        return cols.reshape(groups, -1, n * pixels), (oh, w)


def per_image_pays(channels, weight_shape):
    """Whether each image's product goes straight into the output, instead of one product for the chunk.

    One product for all the chunk's pixels comes out channel-major, (O, N, OH, OW), and costs a
    transposing pass into (N, O, OH, OW); a product per image writes its (O, OH*OW) block in place.
    That pass weighs most where the columns have fewer rows than the output has channels (a first
    layer, 9 rows for 32 channels); elsewhere the per-image products run slower than the pass costs.
    """
    out_channels, _, kh, kw = weight_shape
    return channels * kh * kw < out_channels


CHUNK_BYTES = 2 * 2 ** 20  # columns + product of one chunk of images: a core's cache, roughly
CHUNK_MIN_PIXELS = 4096  # but never fewer output pixels than this: a narrower product loses more than the cache


def images_per_chunk(x_shape, weight_shape, out_hw, itemsize):
    """How many images' columns (C*kh*kw rows) and product (O rows) fit in ``CHUNK_BYTES``, but at least
    ``CHUNK_MIN_PIXELS`` output pixels (and one image).

    The whole batch at once spills out of the cache; too narrow a product loses more than the cache
    gains (the measurements behind both numbers: ``benchmarks/README.md``).
    """
    out_channels, _, kh, kw = weight_shape
    rows, pixels = x_shape[1] * kh * kw + out_channels, out_hw[0] * out_hw[1]
    return max(1, CHUNK_BYTES // (rows * pixels * itemsize), -(-CHUNK_MIN_PIXELS // pixels))


# (N, O, OH, OW) -> the columns' pixel order, channels first: (O, N, OH, OW), or batch last (O, OH, OW, N)
TO_PIXEL_ORDER = {False: (1, 0, 2, 3), True: (1, 2, 3, 0)}
FROM_PIXEL_ORDER = {False: (1, 0, 2, 3), True: (3, 0, 1, 2)}


class FastConv2d(Conv2d):
    # y = W * x + b via columns: Y_g = W_g @ cols_g ;  dW_g = G_g @ cols_g^T, dcols_g = W_g^T @ G_g, dx = col2im(dcols)
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
        self.per_image = False
        if self.batch_last:
            columns = batch_last_im2col
        elif same_width_pays(xp, (kh, kw), self.stride, self.padding, self.dilation):
            self.per_image = not keep and per_image_pays(c, weight.shape)  # (kept columns: im2col's layout)
            columns = SameWidthColumns(xp, x.shape, x.dtype, (kh, kw), self.padding, self.dilation, min(step, n),
                                       self.per_image)
        else:
            columns = im2col_on_device
        for start in range(0, n, step):
            cols = self.columns_product(x[start:start + step], weight, bias, out[start:start + step], columns)
        self.cols = cols if keep else None
        self.weight, self.x_shape, self.x_dtype = weight, x.shape, x.dtype
        return out

    def columns_product(self, x, weight, bias, out, columns):
        """``columns`` (im2col's signature) of x, the product with the weights, written into ``out`` (N, O, OH, OW);
        returns the columns."""
        xp = get_array_module(x)
        n, out_channels, oh, ow = out.shape
        cols, _ = columns(x, weight.shape[2:], self.stride, self.padding, self.dilation, self.groups)
        w_mat = weight.reshape(self.groups, out_channels // self.groups, -1)
        if self.per_image:  # (G, Og, K) @ (N, G, K, OH*OW), each image's product into its block of out
            y = out.reshape(n, self.groups, out_channels // self.groups, oh * ow)
            xp.matmul(w_mat, cols, out=y)
            if bias is not None:
                y += bias.reshape(self.groups, -1, 1)
            return cols
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
            # (cols_g @ G_g^T)^T: the same sums, in the orientation the BLAS ran faster (benchmarks/README.md)
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
            gx = col2im_on_device(lambda i, j: d_cols[:, i, j].transpose(1, 0, 2, 3), grad, self.x_shape, self.x_dtype,
                        (kh, kw), self.stride, self.padding, self.dilation, columns=d_cols.transpose(3, 0, 1, 2, 4, 5))
        return gx, gw, gb


def _matmul(a, b):
    """(G, M, K) @ (G, K, P): with one group a single 2-D GEMM (BLAS reads a transposed operand in place)."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


seams.register_fast_path(Conv2d, FastConv2d)
