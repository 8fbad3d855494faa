"""conv1d, conv_transpose2d and their layers: gradcheck, PyTorch parity (values and gradients), every device."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.functional.conv1d import conv1d
from minitl.functional.conv_transpose import conv_transpose2d
from parity import assert_matches_torch, t64, torch_or_skip

# (C_in, C_out, groups, kernel, stride, padding, output_padding, dilation)
TRANSPOSED = {
    "plain": (3, 2, 1, (3, 3), 1, 0, 0, 1),
    "stride2_pad_outpad": (4, 6, 2, (3, 2), 2, 1, 1, 1),
    "dilated": (2, 4, 1, (2, 3), (2, 3), (1, 0), (1, 2), 2),
}


@pytest.mark.parametrize("name", TRANSPOSED)
def test_conv_transpose2d_gradcheck_and_matches_torch(name, device, rng):
    torch = torch_or_skip()
    c_in, c_out, groups, kernel, stride, padding, output_padding, dilation = TRANSPOSED[name]
    x = rng.standard_normal((2, c_in, 4, 3))
    w = rng.standard_normal((c_in, c_out // groups) + kernel)
    b = rng.standard_normal(c_out)
    settings = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    assert minitl.gradcheck(lambda x, w, b: conv_transpose2d(x, w, b, **settings),
                            [t64(x, device), t64(w, device), t64(b, device)])
    assert_matches_torch(lambda x, w, b: conv_transpose2d(x, w, b, **settings),
                         lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **settings), [x, w, b], device)


def test_conv_transpose2d_is_the_adjoint_of_conv2d(device, rng):
    # <conv2d(x), y> = <x, conv_transpose2d(y)> for the same weight: the defining property
    x, w = rng.standard_normal((1, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    y = rng.standard_normal((1, 4, 4, 4))  # conv2d output size of a 7 x 7 input
    conv = minitl.nn.functional.conv2d(t64(x, device, False), t64(w, device, False), stride=2, padding=1)
    back = conv_transpose2d(t64(y, device, False), t64(w, device, False), stride=2, padding=1)
    assert back.shape == x.shape
    numpy.testing.assert_allclose((conv.numpy() * y).sum(), (x * back.numpy()).sum(), rtol=1e-10)


def test_conv_transpose2d_errors_name_the_fix():
    x = minitl.tensor(numpy.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="weight.shape\\[0\\] is 2"):
        conv_transpose2d(x, minitl.tensor(numpy.zeros((2, 1, 3, 3))))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than stride"):
        conv_transpose2d(x, minitl.tensor(numpy.zeros((3, 1, 3, 3))), stride=2, output_padding=2)


CONV1D = {"plain": dict(), "strided_grouped": dict(stride=2, padding=1, groups=2, dilation=2),
          "same": dict(padding="same")}


@pytest.mark.parametrize("name", CONV1D)
def test_conv1d_gradcheck_and_matches_torch(name, device, rng):
    torch = torch_or_skip()
    settings = CONV1D[name]
    groups = settings.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 4 // groups, 3)), rng.standard_normal(6)
    assert minitl.gradcheck(lambda x, w, b: conv1d(x, w, b, **settings),
                            [t64(x, device), t64(w, device), t64(b, device)])
    assert_matches_torch(lambda x, w, b: conv1d(x, w, b, **settings),
                         lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **settings), [x, w, b], device)


@pytest.mark.parametrize("layer", ["Conv1d", "ConvTranspose2d"])
def test_layers_match_torch_layers_with_the_same_weights(layer, device, rng):
    torch = torch_or_skip()
    if layer == "Conv1d":
        ours, theirs = nn.Conv1d(4, 6, 3, stride=2, padding=1), torch.nn.Conv1d(4, 6, 3, stride=2, padding=1)
        x = rng.standard_normal((2, 4, 10)).astype(numpy.float32)
    else:
        ours, theirs = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2), torch.nn.ConvTranspose2d(4, 6, 2, stride=2,
                                                                                                groups=2)
        x = rng.standard_normal((2, 4, 3, 5)).astype(numpy.float32)
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == tuple(theirs.bias.shape)
    # PyTorch's default init: the same uniform bound on the weight
    bound = 1 / numpy.sqrt(numpy.prod(theirs.weight.shape[1:]))
    assert numpy.abs(ours.weight.numpy()).max() <= bound + 1e-6
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    numpy.testing.assert_allclose(ours(minitl.tensor(x, device=device)).numpy(),
                                  theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    if layer == "ConvTranspose2d":
        assert ours(minitl.tensor(x, device=device)).shape == (2, 6, 6, 10)  # kernel = stride = 2 doubles H, W


def test_layers_name_the_expected_channels():
    with pytest.raises(ValueError, match=r"Conv1d\(4, 6\) expects input \(N, 4, L\), got shape \(2, 3, 10\)"):
        nn.Conv1d(4, 6, 3)(minitl.tensor(numpy.zeros((2, 3, 10))))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(4, 6\) expects input \(N, 4, H, W\)"):
        nn.ConvTranspose2d(4, 6, 2)(minitl.tensor(numpy.zeros((2, 3, 5, 5))))
