"""F.pad with mode="reflect" / "replicate" / "circular": gradcheck, PyTorch parity, every device."""
import numpy
import pytest

import minitl
from minitl.nn import functional as F
from parity import assert_matches_torch, t64, torch_or_skip

MODES = ["reflect", "replicate", "circular"]
PADS = {"last_axis_3d": ((2, 3), (3, 4, 6)), "two_axes_4d": ((1, 3, 2, 0), (2, 3, 4, 5)),
        "three_axes_4d": ((1, 0, 0, 2, 1, 1), (2, 3, 4, 5))}


@pytest.mark.parametrize("pads", PADS)
@pytest.mark.parametrize("mode", MODES)
def test_pad_modes_gradcheck_and_match_torch(mode, pads, device, rng):
    torch = torch_or_skip()
    pad, shape = PADS[pads]
    x = rng.standard_normal(shape)
    assert minitl.gradcheck(lambda x: F.pad(x, pad, mode=mode), [t64(x, device)])
    assert_matches_torch(lambda x: F.pad(x, pad, mode=mode), lambda x: torch.nn.functional.pad(x, pad, mode=mode),
                         [x], device)


def test_reflect_and_replicate_at_the_border(device):
    x = minitl.tensor([[[1.0, 2.0, 3.0, 4.0]]], device=device)
    assert F.pad(x, (2, 2), mode="reflect").numpy().ravel().tolist() == [3, 2, 1, 2, 3, 4, 3, 2]
    assert F.pad(x, (2, 2), mode="replicate").numpy().ravel().tolist() == [1, 1, 1, 2, 3, 4, 4, 4]
    assert F.pad(x, (2, 2), mode="constant", value=9).numpy().ravel().tolist() == [9, 9, 1, 2, 3, 4, 9, 9]


def test_pad_modes_refuse_what_pytorch_refuses():
    x = minitl.tensor(numpy.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="reflect padding of 3 on axis 2 needs at most 2"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pads at most x.ndim - 1 = 2 axes"):
        F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")
    with pytest.raises(ValueError, match="mode must be 'constant' or one of"):
        F.pad(x, (1, 1), mode="mirror")
