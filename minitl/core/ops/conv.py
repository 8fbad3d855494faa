"""2-D convolution by im2col: every receptive field becomes a column, the convolution one matrix product.

The input (N, C, H, W) is padded, then ``xp.lib.stride_tricks.sliding_window_view`` shows every kh x kw window
without copying; copying those windows into a matrix of columns (im2col) turns the convolution into
a single ``matmul`` with the weights, batched over groups. The backward is two more products (one
for the weights, one for the columns) and a col2im step that adds each column back into the image
positions it was read from (``col2im``): a loop over the kh*kw kernel offsets, each one strided-slice
``+=`` (deterministic: no scatter, no atomics). ``pool.py`` reuses the window helpers and ``col2im``.

This is the reference: one pixel order (N, OH, OW) in the columns, the whole batch in one product.
Faster twins (batch-last columns, cache-sized chunks, CUDA kernels) live in ``minitl/fast/conv.py`` and
register themselves over ``Conv2d`` (``seams.py``); a test holds them equal to this one.
"""
import numbers

from ..backend import get_array_module
from ..tensor import Function


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


def col2im(tap_grad, grad, x_shape, x_dtype, kernel, stride, padding, dilation):
    """The gradient of an (N, C, H, W) input from the gradients of what each kernel tap read: undoes ``windows``.

    ``tap_grad(i, j)`` gives the (N, C, OH, OW) gradient of the pixels tap (i, j) read (``grad`` is
    the op's output gradient, for its OH, OW and array module). Each tap adds its share back where it
    read from, in a zero-padded image that is cropped at the end: overlapping windows add up.
    """
    (n, c, h, w), (kh, kw), (ph, pw) = x_shape, kernel, padding
    g_padded = get_array_module(grad).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x_dtype)
    for i in range(kh):
        for j in range(kw):
            g_padded[window_tap(i, j, grad.shape[2:], stride, dilation)] += tap_grad(i, j)
    return crop_hw(g_padded, padding, (h, w))


def im2col(x, kernel, stride, padding, dilation, groups):
    """x (N, C, H, W) -> (columns (G, C/G*kh*kw, N*OH*OW), (OH, OW)): every window as a column."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    kh, kw = kernel
    out_hw = tuple(output_size(*args) for args in zip((h, w), kernel, stride, padding, dilation))
    view = windows(pad_hw(x, padding), kernel, stride, dilation)
    oh, ow = out_hw
    # (N, C, OH, OW, kh, kw) -> (G, Cg*kh*kw, N*OH*OW); this copy is the memory cost of im2col
    view = view.reshape(n, groups, c // groups, oh, ow, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
    return xp.ascontiguousarray(view).reshape(groups, -1, n * oh * ow), out_hw


class Conv2d(Function):
    # y = W * x + b (each output: one kernel dotted with one window of x) ;  dL/dW = sum over windows of g x_window,
    # dL/dx = g spread back through W onto each window (a transposed conv), dL/db = sum of g over N, H, W
    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        xp = get_array_module(x)
        n, out_channels, groups = x.shape[0], weight.shape[0], self.groups
        cols, (oh, ow) = im2col(x, weight.shape[2:], self.stride, self.padding, self.dilation, groups)
        y = weight.reshape(groups, out_channels // groups, -1) @ cols  # (G, Og, K) @ (G, K, N*OH*OW)
        y = y.reshape(out_channels, n, oh, ow).transpose(1, 0, 2, 3)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        # frozen (effect 2, per input): the columns serve only the weight's gradient, so a frozen weight
        # saves no im2col copy even where the node is recorded (an input below still needs its gradient).
        self.cols = cols if self.needs_input_grad[1] else None
        self.weight, self.x_shape, self.x_dtype = weight, x.shape, x.dtype
        return xp.ascontiguousarray(y)

    def backward(self, grad):
        # BEGIN SOLUTION conv2d
        n, c = self.x_shape[:2]
        out_channels, _, kh, kw = self.weight.shape
        groups, (oh, ow), needs = self.groups, grad.shape[2:], self.needs_input_grad
        g_mat = grad.transpose(1, 0, 2, 3).reshape(groups, out_channels // groups, n * oh * ow)
        gx = gw = gb = None
        if needs[1]:
            gw = (g_mat @ self.cols.transpose(0, 2, 1)).reshape(self.weight.shape)
        if needs[2]:
            gb = g_mat.reshape(out_channels, -1).sum(axis=1)
        if needs[0]:
            w_mat = self.weight.reshape(groups, out_channels // groups, -1)
            d_cols = (w_mat.transpose(0, 2, 1) @ g_mat).reshape(c, kh, kw, n, oh, ow)
            gx = col2im(lambda i, j: d_cols[:, i, j].transpose(1, 0, 2, 3), grad, self.x_shape, self.x_dtype,
                        (kh, kw), self.stride, self.padding, self.dilation)
        return gx, gw, gb
        # END SOLUTION


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
