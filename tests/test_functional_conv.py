"""conv2d: finite-difference gradients (float64) and PyTorch parity (float32) for every variant."""
import numpy
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minitl
from minitl.core.ops.conv import conv2d, output_size
from parity import assert_matches_torch, torch_or_skip

# (x shape, weight shape, settings): stride / padding / dilation / groups, square and rectangular
VARIANTS = {
    "plain": ((2, 3, 5, 5), (4, 3, 3, 3), dict()),
    "stride2_pad1": ((2, 3, 6, 5), (4, 3, 3, 3), dict(stride=2, padding=1)),
    "dilation2_pad2": ((1, 2, 7, 6), (3, 2, 3, 3), dict(padding=2, dilation=2)),
    "groups2": ((2, 4, 5, 4), (6, 2, 3, 3), dict(padding=1, groups=2)),
    "depthwise": ((2, 3, 5, 5), (3, 1, 3, 3), dict(padding=1, groups=3)),
    "depthwise_multiplier": ((1, 2, 5, 5), (4, 1, 3, 3), dict(stride=2, groups=2)),
    "rect_pairs": ((2, 2, 7, 6), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    "pointwise": ((2, 3, 4, 4), (5, 3, 1, 1), dict()),
}


def _tensors(rng, x_shape, w_shape, dtype, device, bias=True):
    x = minitl.tensor(rng.standard_normal(x_shape), requires_grad=True, dtype=dtype, device=device)
    w = minitl.tensor(rng.standard_normal(w_shape), requires_grad=True, dtype=dtype, device=device)
    b = minitl.tensor(rng.standard_normal(w_shape[0]), requires_grad=True, dtype=dtype, device=device)
    return x, w, (b if bias else None)


@pytest.mark.parametrize("name", VARIANTS)
def test_conv2d_gradcheck(name, device, rng):
    x_shape, w_shape, kw = VARIANTS[name]
    x, w, b = _tensors(rng, x_shape, w_shape, "float64", device)
    assert minitl.gradcheck(lambda x, w, b: conv2d(x, w, b, **kw), [x, w, b])


def test_conv2d_gradcheck_without_bias_on_non_contiguous_input(device, rng):
    x, w, _ = _tensors(rng, (2, 3, 6, 5), (4, 3, 3, 3), "float64", device)
    # the permuted view has non-contiguous strides; conv must read it correctly and send the gradient back
    assert minitl.gradcheck(lambda x, w: conv2d(x.permute(0, 1, 3, 2), w, stride=2, padding=1), [x, w])


@pytest.mark.parametrize("name", VARIANTS)
def test_conv2d_matches_torch(name, device, rng):
    torch = torch_or_skip()
    x_shape, w_shape, kw = VARIANTS[name]
    arrays = [rng.standard_normal(shape) for shape in (x_shape, w_shape, w_shape[:1])]  # x, weight, bias
    assert_matches_torch(lambda x, w, b: conv2d(x, w, b, **kw),
                         lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), arrays, device, rng=rng)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), groups=st.sampled_from([1, 2]), per_group=st.integers(1, 2),
       out_per_group=st.integers(1, 2), h=st.integers(3, 7), w=st.integers(3, 7), kh=st.integers(1, 3),
       kw=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2))
def test_conv2d_random_settings_match_torch(n, groups, per_group, out_per_group, h, w, kh, kw, stride, padding,
                                            dilation):
    torch = torch_or_skip()
    assume(output_size(h, kh, stride, padding, dilation) >= 1 and output_size(w, kw, stride, padding, dilation) >= 1)
    rng = numpy.random.default_rng(h * 7 + w)
    x, weight, bias = _tensors(rng, (n, groups * per_group, h, w), (groups * out_per_group, per_group, kh, kw),
                               "float32", "cpu")
    kw_settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = conv2d(x, weight, bias, **kw_settings)
    y.sum().backward()
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, weight, bias))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kw_settings)
    ty.sum().backward()
    for ours, theirs in [(y, ty), (x.grad, tx.grad), (weight.grad, tw.grad), (bias.grad, tb.grad)]:
        numpy.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_conv2d_float64_stays_float64(device, rng):
    x, w, b = _tensors(rng, (1, 2, 4, 4), (3, 2, 3, 3), "float64", device)
    y = conv2d(x, w, b, padding=1)
    y.sum().backward()
    assert y.dtype == numpy.float64 and x.grad.dtype == numpy.float64 and w.grad.dtype == numpy.float64


def test_frozen_weight_gets_no_gradient_and_input_still_does(device, rng):
    x, w, b = _tensors(rng, (1, 2, 4, 4), (3, 2, 3, 3), "float32", device)
    w.requires_grad = False
    conv2d(x, w, b).sum().backward()
    assert w.grad is None and x.grad is not None and b.grad is not None


@pytest.mark.parametrize("x_shape, w_shape, kw, words", [
    ((1, 4, 5, 5), (2, 3, 3, 3), dict(groups=1), "weight.shape[1]"),
    ((1, 4, 5, 5), (3, 2, 3, 3), dict(groups=2), "divide by groups"),
    ((1, 2, 2, 2), (1, 2, 3, 3), dict(), "does not fit"),
    ((2, 5, 5), (1, 2, 3, 3), dict(), "(N, C, H, W)"),
])
def test_conv2d_bad_shapes_say_what_is_wrong(x_shape, w_shape, kw, words):
    x, w = minitl.tensor(numpy.zeros(x_shape)), minitl.tensor(numpy.zeros(w_shape))
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        conv2d(x, w, **kw)


def test_a_frozen_weight_keeps_no_im2col_columns():
    x = minitl.tensor(numpy.ones((1, 2, 5, 5)), requires_grad=True)
    frozen = minitl.tensor(numpy.ones((3, 2, 3, 3)))
    trainable = minitl.tensor(numpy.ones((3, 2, 3, 3)), requires_grad=True)
    assert conv2d(x, frozen).grad_fn.cols is None
    assert conv2d(x, trainable).grad_fn.cols is not None


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((5, 1), 1), ((3, 3), 2), ((2, 2), 1)])
def test_conv2d_string_padding_matches_torch(padding, kernel, dilation, device, rng):
    torch = torch_or_skip()
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3) + kernel)
    if padding == "same" and any(dilation * (k - 1) % 2 for k in kernel):  # even: torch pads one side more
        with pytest.raises(ValueError, match="odd effective kernel"):
            conv2d(minitl.tensor(x), minitl.tensor(w), padding="same", dilation=dilation)
        return
    assert_matches_torch(lambda a, b: conv2d(a, b, padding=padding, dilation=dilation),
                         lambda a, b: torch.nn.functional.conv2d(a, b, padding=padding, dilation=dilation),
                         [x, w], device)
    layer = minitl.nn.Conv2d(3, 4, kernel, padding=padding, dilation=dilation)
    assert layer(minitl.tensor(x)).shape == ((2, 4, 7, 6) if padding == "same" else (2, 4) + tuple(
        output_size(n, k, 1, 0, dilation) for n, k in zip((7, 6), kernel)))


@pytest.mark.parametrize("kw, words", [
    (dict(padding="full"), "'valid' or 'same', got 'full'"),
    (dict(padding="same", stride=2), "needs stride 1"),
    (dict(padding="1"), "'valid' or 'same', got '1'"),
    (dict(stride=(1, 2, 3)), "stride must be an int or a pair of ints"),
])
def test_conv2d_bad_padding_and_stride_say_what_is_wrong(kw, words):
    x, w = minitl.tensor(numpy.zeros((1, 2, 5, 5))), minitl.tensor(numpy.zeros((3, 2, 3, 3)))
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        conv2d(x, w, **kw)


@pytest.mark.parametrize("batch_last", [True, False])
@pytest.mark.parametrize("name", ["plain", "dilation2_pad2", "groups2", "depthwise", "pointwise"])
def test_both_pixel_orders_match_torch_and_finite_differences(name, batch_last, monkeypatch, rng):
    # batch_last_pays picks the columns' pixel order by shape; force each order on every stride-1 variant
    from minitl.fast import conv
    monkeypatch.setattr(conv, "batch_last_pays", lambda *args: batch_last)
    x_shape, w_shape, kw = VARIANTS[name]
    layer = conv2d(*_tensors(rng, x_shape, w_shape, "float32", "cpu"), **kw)
    assert layer.grad_fn.batch_last is batch_last
    x, w, b = _tensors(rng, x_shape, w_shape, "float64", "cpu")
    assert minitl.gradcheck(lambda x, w, b: conv2d(x, w, b, **kw), [x, w, b])
    torch = torch_or_skip()
    arrays = [rng.standard_normal(shape) for shape in (x_shape, w_shape, w_shape[:1])]
    assert_matches_torch(lambda x, w, b: conv2d(x, w, b, **kw),
                         lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), arrays, "cpu", rng=rng)


def test_batch_last_order_is_chosen_where_the_columns_outweigh_the_output():
    from minitl.fast.conv import batch_last_pays
    assert batch_last_pays(numpy, 32, (64, 32, 3, 3), (1, 1), True)      # SmallCNN's second conv: 288 rows vs 64
    assert not batch_last_pays(numpy, 32, (64, 32, 3, 3), (1, 1), False)  # no col2im (inference): no gain
    assert not batch_last_pays(numpy, 1, (32, 1, 3, 3), (1, 1), True)    # its first: 9 rows of columns vs 32
    assert not batch_last_pays(numpy, 64, (64, 64, 3, 3), (2, 2), True)  # a stride breaks the contiguous rows


@pytest.mark.parametrize("name", ["plain", "stride2_pad1", "groups2", "rect_pairs"])
def test_columns_built_a_few_images_at_a_time_match_torch(name, monkeypatch, rng):
    # columns nobody keeps (no weight gradient) are built per chunk of images; a 1-byte budget and a
    # 1-pixel floor make every image its own chunk, against the whole batch in one product
    from minitl.fast import conv
    torch = torch_or_skip()
    x_shape, w_shape, kw = VARIANTS[name]
    x_shape = (5,) + x_shape[1:]
    arrays = [rng.standard_normal(shape).astype(numpy.float32) for shape in (x_shape, w_shape, w_shape[:1])]
    whole = conv2d(*(minitl.tensor(a) for a in arrays), **kw).numpy()
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "CHUNK_MIN_PIXELS", 1)
    assert conv.images_per_chunk(x_shape, w_shape, (3, 3), 4) == 1
    x = minitl.tensor(arrays[0], requires_grad=True)  # a frozen weight: the input still gets its gradient
    y = conv2d(x, minitl.tensor(arrays[1]), minitl.tensor(arrays[2]), **kw)
    assert y.grad_fn.cols is None
    numpy.testing.assert_allclose(y.numpy(), whole, rtol=1e-6, atol=1e-5)  # same sums, BLAS may block them apart
    y.sum().backward()
    tx = torch.tensor(arrays[0], requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, torch.tensor(arrays[1]), torch.tensor(arrays[2]), **kw)
    ty.sum().backward()
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
