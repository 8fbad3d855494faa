"""Every fast path (minitl/fast) against its reference twin in the spine (minitl/core/ops), op by op.

Each case runs the same float64 inputs twice, once with the fast twin registered (as after
``import minitl``) and once with nothing registered (the reference alone), and asserts equal outputs
and equal gradients for every input. The settings are picked so that each speed choice of the twin
actually runs: the batch-last pixel order, cache-sized chunks, the weight gradient's GEMM
orientation, the tiled max-pool windows, and (on the stand-in, which compiles them as C) the CUDA kernels.
"""
import contextlib

import numpy
import pytest

import minitl
from minitl.core import seams
from minitl.core.ops import conv as reference_conv
from minitl.core.ops import norm as reference_norm
from minitl.core.ops import pool as reference_pool
from minitl.fast import conv as fast_conv
from minitl.fast import norm as fast_norm
from minitl.fast import pool as fast_pool
from parity import t64
from test_functional_conv_cuda import kernels  # noqa: F401 - a fixture: the stand-in, when it compiles kernels


@contextlib.contextmanager
def registered(reference, twin):
    """Run the block with ``twin`` registered over ``reference`` (None: the reference alone), then restore."""
    previous = seams.register_fast_path(reference, twin)
    try:
        yield
    finally:
        seams.register_fast_path(reference, previous)


def run(op, arrays, device, needs_grad, **settings):
    """Output and input gradients (None where not wanted) of ``op(*tensors, **settings)`` for a fixed seed gradient."""
    tensors = [t64(a, device) for a in arrays]
    for t, need in zip(tensors, needs_grad):
        t.requires_grad_(need)
    y = op(*tensors, **settings)
    weights = t64(numpy.random.default_rng(7).standard_normal(y.shape), device)
    (y * weights).sum().backward()
    return [y.numpy()] + [None if t.grad is None else t.grad.numpy() for t in tensors]


def assert_twins_agree(reference, twin, op, arrays, device="cpu", needs_grad=None, **settings):
    needs_grad = needs_grad or [True] * len(arrays)
    with registered(reference, twin):
        fast = run(op, arrays, device, needs_grad, **settings)
    with registered(reference, None):
        plain = run(op, arrays, device, needs_grad, **settings)
    for ours, expected in zip(fast, plain):
        assert (ours is None) == (expected is None)
        if ours is not None:
            numpy.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_the_twins_are_registered_and_a_fast_twin_keeps_its_reference_name():
    assert seams.fast_paths[reference_conv.Conv2d] is fast_conv.FastConv2d
    assert seams.fast_paths[reference_pool.MaxPool2d] is fast_pool.CudaMaxPool2d
    x = minitl.randn(1, 2, 6, 6, requires_grad=True)
    assert minitl.nn.functional.max_pool2d(x, 2).grad_fn.name == "MaxPool2dBackward"


def test_a_fast_path_must_subclass_its_reference():
    with pytest.raises(TypeError, match="must subclass"):
        seams.register_fast_path(reference_conv.Conv2d, reference_pool.MaxPool2d)


CONV_CASES = [  # x shape, weight shape, settings; the comment says which speed choice runs
    ((3, 4, 9, 8), (8, 4, 3, 3), dict(stride=1, padding=1)),                  # batch-last (36 rows >= 2 * 8)
    ((3, 4, 9, 8), (16, 4, 3, 3), dict(stride=1, padding=0)),                 # channels-first, GEMM as cols @ G^T
    ((2, 4, 9, 8), (8, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ((2, 3, 7, 7), (64, 3, 1, 1), dict(stride=2, padding=0)),                 # GEMM as G @ cols^T (3 rows < 64)
]


@pytest.mark.parametrize("x_shape, w_shape, settings", CONV_CASES)
def test_fast_conv2d_equals_the_reference(x_shape, w_shape, settings, rng):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    assert_twins_agree(reference_conv.Conv2d, fast_conv.FastConv2d, reference_conv.conv2d, arrays, **settings)


def test_fast_conv2d_in_cache_sized_chunks_equals_the_reference(monkeypatch, rng):
    """A frozen weight keeps no columns, so the twin builds them a few images at a time: here one image a chunk."""
    monkeypatch.setattr(fast_conv, "CHUNK_BYTES", 1)
    monkeypatch.setattr(fast_conv, "CHUNK_MIN_PIXELS", 1)
    arrays = [rng.standard_normal((5, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    assert fast_conv.images_per_chunk((5, 3, 8, 8), (4, 3, 3, 3), (6, 6), 8) == 1
    assert_twins_agree(reference_conv.Conv2d, fast_conv.FastConv2d, reference_conv.conv2d, arrays,
                       needs_grad=[True, False, True], stride=1, padding=0)


POOL_CASES = [  # kernel, stride, padding, more settings
    (2, 2, 0, {}),                              # windows tile the image: the tiled path
    (3, 3, 0, {}),                              # tiles, with pixels past the last whole window
    (3, 2, 1, {}),                              # overlapping, padded windows
    (2, 1, 0, {}),
    (3, 2, 1, dict(ceil_mode=True)),            # handed back to the reference
    (2, 2, 0, dict(dilation=2)),                # handed back to the reference
]


@pytest.mark.parametrize("kernel, stride, padding, more", POOL_CASES)
def test_fast_max_pool2d_equals_the_reference(kernel, stride, padding, more, rng):
    x = rng.standard_normal((2, 3, 9, 8))
    assert_twins_agree(reference_pool.MaxPool2d, fast_pool.FastMaxPool2d, reference_pool.max_pool2d, [x],
                       kernel_size=kernel, stride=stride, padding=padding, **more)


@pytest.mark.usefixtures("kernels")
@pytest.mark.parametrize("kernel, stride, padding, more", POOL_CASES)
def test_cuda_max_pool2d_equals_the_reference(kernel, stride, padding, more, rng):
    x = rng.standard_normal((2, 3, 9, 8))
    assert_twins_agree(reference_pool.MaxPool2d, fast_pool.CudaMaxPool2d, reference_pool.max_pool2d, [x],
                       device="cuda", kernel_size=kernel, stride=stride, padding=padding, **more)


@pytest.mark.usefixtures("kernels")
@pytest.mark.parametrize("x_shape, w_shape, settings", CONV_CASES)
def test_cuda_conv2d_equals_the_reference(x_shape, w_shape, settings, rng):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    assert_twins_agree(reference_conv.Conv2d, fast_conv.FastConv2d, reference_conv.conv2d, arrays, device="cuda",
                       **settings)


NORM_CASES = [  # input shape, training, with weight and bias, running statistics
    ((6, 3, 5, 4), True, True, True),
    ((6, 3, 5, 4), True, False, True),           # no affine: the twin's product without a weight
    ((7, 4), True, True, False),                 # (N, C), no running statistics
    ((4, 3, 6), False, True, True),              # fixed statistics: the twin runs the reference's code
]


@pytest.mark.parametrize("shape, training, affine, running", NORM_CASES)
def test_fast_batch_norm_equals_the_reference_and_moves_the_running_statistics_alike(shape, training, affine, running,
                                                                                     rng):
    channels = shape[1]
    arrays = [rng.standard_normal(shape) * 3 + 1]
    if affine:
        arrays += [rng.standard_normal(channels), rng.standard_normal(channels)]
    stats = []  # the running statistics after each call: the twin's first, then the reference's

    def op(x, *weight_and_bias):
        mean, var = (t64(numpy.linspace(-1, 1, channels), "cpu"), t64(numpy.linspace(0.5, 2, channels), "cpu")) \
            if running else (None, None)
        stats.append((mean, var))
        return reference_norm.batch_norm(x, mean, var, *weight_and_bias, training=training, momentum=0.3)

    assert_twins_agree(reference_norm.BatchNorm, fast_norm.FastBatchNorm, op, arrays)
    if running:
        for ours, expected in zip(*stats):
            numpy.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
        assert training == (not numpy.allclose(stats[0][0].numpy(), numpy.linspace(-1, 1, channels)))
    assert seams.fast_paths[reference_norm.BatchNorm] is fast_norm.FastBatchNorm


SAME_WIDTH_CASES = [  # x shape, weight shape, settings: stride 1 and an output as wide as the input
    ((5, 4, 7, 6), (8, 4, 3, 3), dict(padding=1)),                            # one product a chunk (36 rows >= 8)
    ((5, 2, 7, 6), (32, 2, 3, 3), dict(padding=1)),                           # a product per image (18 rows < 32)
    ((5, 2, 7, 6), (32, 1, 3, 3), dict(padding=1, groups=2)),                 # a product per image and group
    ((3, 4, 9, 8), (8, 2, 3, 3), dict(padding=(0, 2), dilation=2, groups=2)),
    ((3, 3, 8, 9), (4, 3, 1, 5), dict(padding=(1, 2))),                       # wider than tall, rows padded only
    ((3, 3, 6, 1), (4, 3, 3, 3), dict(padding=1)),                            # one pixel wide: only the middle tap
    ((3, 3, 6, 2), (40, 3, 5, 5), dict(padding=2)),                           # taps reach past both edges
]


@pytest.fixture
def same_width_spy(monkeypatch):
    """The ``per_image`` setting of every ``SameWidthColumns`` built, so a test knows the path ran."""
    built = []

    class Spy(fast_conv.SameWidthColumns):
        def __init__(self, *args):
            super().__init__(*args)
            built.append(self.per_image)

    monkeypatch.setattr(fast_conv, "SameWidthColumns", Spy)
    return built


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the NaN's sums
@pytest.mark.parametrize("x_shape, w_shape, settings", SAME_WIDTH_CASES)
@pytest.mark.parametrize("needs_grad", [[False, False, True], [False, True, False]])
def test_fast_conv2d_with_same_width_columns_equals_the_reference(x_shape, w_shape, settings, needs_grad,
                                                                    same_width_spy, monkeypatch, rng):
    """The columns cut from the flat image, kept for the weight's gradient (whole batch) or not (in chunks of 2
    images, the last one short, through the reused buffers); an infinity and a NaN on the image's left and right
    edges, where the taps' runs wrap onto the neighbouring row, must reach only the outputs they reach in the
    reference."""
    monkeypatch.setattr(fast_conv, "CHUNK_BYTES", 1)
    monkeypatch.setattr(fast_conv, "CHUNK_MIN_PIXELS", 2 * x_shape[2] * x_shape[3])
    x = rng.standard_normal(x_shape)
    x[0, 0, 1, -1], x[-1, -1, 2, 0] = numpy.inf, numpy.nan
    arrays = [x, rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    assert_twins_agree(reference_conv.Conv2d, fast_conv.FastConv2d, reference_conv.conv2d, arrays,
                       needs_grad=needs_grad, **settings)
    keep = needs_grad[1]
    assert same_width_spy == [not keep and x_shape[1] * w_shape[2] * w_shape[3] < w_shape[0]]


@pytest.mark.parametrize("x_shape, w_shape, settings", SAME_WIDTH_CASES[:3])
def test_fast_conv2d_with_same_width_columns_on_the_standin(x_shape, w_shape, settings, same_width_spy, standin,
                                                            monkeypatch, rng):
    """The same columns with the stand-in's arrays, its CUDA kernels off (the portable array code)."""
    monkeypatch.setenv("MINITL_CUDA_KERNELS", "0")
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    assert_twins_agree(reference_conv.Conv2d, fast_conv.FastConv2d, reference_conv.conv2d, arrays, device="cuda",
                       needs_grad=[False, False, True], **settings)
    assert len(same_width_spy) == 1


def pool_twins_without_gradient(x, device, kernel, stride, padding, more):
    """Max-pool's values under ``no_grad``: (the fast twin's, the reference's, the input array the twin read)."""
    outputs = []
    for twin in (fast_pool.FastMaxPool2d, None):
        with registered(reference_pool.MaxPool2d, twin), minitl.no_grad():
            x_seen = minitl.tensor(x, device=device)
            y = reference_pool.max_pool2d(x_seen, kernel_size=kernel, stride=stride, padding=padding, **more)
            outputs.append((y.numpy(), x_seen.numpy()))
    (fast, x_seen), (plain, _) = outputs
    numpy.testing.assert_array_equal(fast, plain)
    assert fast.dtype == plain.dtype
    return fast, x_seen


NO_GRAD_POOL_CASES = POOL_CASES + [
    ((1, 3), (1, 2), (0, 1), {}),               # one row a window: its maximum over rows is a copy
    ((3, 1), (2, 1), (1, 0), {}),
    (1, 1, 0, {}),                              # a copy of the input, not a view of it
]


@pytest.mark.parametrize("kernel, stride, padding, more", NO_GRAD_POOL_CASES)
@pytest.mark.parametrize("dtype", ["float64", "int32"])
@pytest.mark.parametrize("one_image_a_chunk", [False, True])
def test_fast_max_pool2d_without_gradient_equals_the_reference(kernel, stride, padding, more, dtype, one_image_a_chunk,
                                                                monkeypatch, rng):
    """The values alone, a window's maximum over its rows and then its columns, the whole batch at once or an image
    at a time: a NaN in a window, an -inf, ties."""
    if one_image_a_chunk:
        monkeypatch.setattr(fast_pool, "ROWS_BYTES", 1)
    x = rng.integers(-4, 4, (3, 3, 9, 8)).astype(dtype)
    if dtype == "float64":
        x[0, 0, 0, 0], x[1, 2, 4, 3], x[0, 1, 8, 7], x[1, 1] = numpy.nan, numpy.nan, numpy.nan, -numpy.inf
    fast, x_seen = pool_twins_without_gradient(x, "cpu", kernel, stride, padding, more)
    assert not numpy.shares_memory(fast, x_seen)


@pytest.mark.parametrize("kernel, stride, padding, more", NO_GRAD_POOL_CASES[:3])
def test_fast_max_pool2d_without_gradient_on_the_standin(kernel, stride, padding, more, standin, monkeypatch, rng):
    """The same values with the stand-in's arrays, its CUDA kernels off (the portable array code)."""
    monkeypatch.setenv("MINITL_CUDA_KERNELS", "0")
    x = rng.standard_normal((2, 3, 9, 8))
    x[0, 0, 0, 0] = numpy.nan
    pool_twins_without_gradient(x, "cuda", kernel, stride, padding, more)
