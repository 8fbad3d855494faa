"""F.interpolate (nearest, bilinear) and nn.Upsample: gradcheck, PyTorch parity of values and gradients."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.functional.interpolate import interpolate
from parity import assert_matches_torch, t64, torch_or_skip

CASES = {
    "nearest_size": dict(size=(8, 3)),
    "nearest_x2": dict(scale_factor=2),
    "nearest_fractional": dict(scale_factor=(1.5, 0.7)),
    "bilinear_size": dict(size=(9, 13), mode="bilinear"),
    "bilinear_align_corners": dict(size=(9, 4), mode="bilinear", align_corners=True),
    "bilinear_factor": dict(scale_factor=1.7, mode="bilinear"),
    "bilinear_recompute": dict(scale_factor=2.3, mode="bilinear", recompute_scale_factor=True),
    "bilinear_down": dict(size=(2, 3), mode="bilinear"),
}


@pytest.mark.parametrize("name", CASES)
def test_interpolate_gradcheck_and_matches_torch(name, device, rng):
    torch = torch_or_skip()
    settings = CASES[name]
    x = rng.standard_normal((2, 3, 5, 7))
    assert minitl.gradcheck(lambda x: interpolate(x, **settings), [t64(x, device)])
    assert_matches_torch(lambda x: interpolate(x, **settings),
                         lambda x: torch.nn.functional.interpolate(x, **settings), [x], device)


def test_nearest_x2_copies_each_pixel_into_a_block(device):
    x = minitl.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], device=device)
    assert interpolate(x, scale_factor=2).numpy()[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
                                                                     [3, 3, 4, 4]]


def test_interpolate_errors_say_what_to_do():
    x = minitl.tensor(numpy.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*unsqueeze\(0\)"):
        interpolate(x, scale_factor=2)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        interpolate(x.unsqueeze(0))
    with pytest.raises(ValueError, match="mode 'bicubic' is not supported"):
        interpolate(x.unsqueeze(0), scale_factor=2, mode="bicubic")


def test_upsample_layer_matches_torch(device, rng):
    torch = torch_or_skip()
    x = rng.standard_normal((1, 2, 3, 4)).astype(numpy.float32)
    for settings in (dict(scale_factor=2), dict(size=(5, 5), mode="bilinear", align_corners=False)):
        ours = nn.Upsample(**settings)(minitl.tensor(x, device=device))
        numpy.testing.assert_allclose(ours.numpy(), torch.nn.Upsample(**settings)(torch.tensor(x)).numpy(),
                                      rtol=1e-5, atol=1e-6)


def test_bilinear_on_uint8_weighs_in_float_and_rounds_as_torch(device, rng):
    """The issue's case (weights cast to uint8 truncated to 0 or 1 and gave [[0, 0, 100], ...]), then random
    images, sizes and both corner settings: equal to PyTorch's uint8 kernel, pixel for pixel."""
    torch = torch_or_skip()
    image = numpy.array([[[[0, 100], [200, 50]]]], dtype=numpy.uint8)
    ours = interpolate(minitl.tensor(image, device=device), size=(3, 3), mode="bilinear")
    assert ours.dtype == numpy.uint8
    assert ours.numpy()[0, 0].tolist() == [[0, 50, 100], [100, 88, 75], [200, 125, 50]]
    for _ in range(40):
        h, w, out_h, out_w = (int(v) for v in rng.integers(2, 14, 4))
        align = bool(rng.integers(0, 2))
        x = rng.integers(0, 256, (1, 2, h, w)).astype(numpy.uint8)
        settings = dict(size=(out_h, out_w), mode="bilinear", align_corners=align)
        expected = torch.nn.functional.interpolate(torch.from_numpy(x), **settings).numpy()
        numpy.testing.assert_array_equal(interpolate(minitl.tensor(x, device=device), **settings).numpy(), expected,
                                         err_msg=str(settings))
