"""group_norm and nn.GroupNorm: gradcheck, PyTorch parity of values and gradients, every device."""
import numpy
import pytest

import minitl
from minitl import nn
from minitl.functional.layer_norm import group_norm
from parity import assert_matches_torch, t64, torch_or_skip


@pytest.mark.parametrize("groups", [1, 3, 6])
@pytest.mark.parametrize("shape", [(2, 6, 3, 4), (3, 6, 2)])  # groups of one value are degenerate (var 0)
def test_group_norm_gradcheck_and_matches_torch(groups, shape, device, rng):
    torch = torch_or_skip()
    x, w, b = rng.standard_normal(shape), rng.standard_normal(6), rng.standard_normal(6)
    assert minitl.gradcheck(lambda x, w, b: group_norm(x, groups, w, b),
                            [t64(x, device), t64(w, device), t64(b, device)])
    assert_matches_torch(lambda x, w, b: group_norm(x, groups, w, b),
                         lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b), [x, w, b], device)


def test_group_norm_layer_works_on_one_image_and_matches_torch(device, rng):
    torch = torch_or_skip()
    x = rng.standard_normal((1, 4, 5, 5)).astype(numpy.float32)  # batch of one: BatchNorm could not train on it
    ours, theirs = nn.GroupNorm(2, 4).to(device), torch.nn.GroupNorm(2, 4)
    numpy.testing.assert_allclose(ours(minitl.tensor(x, device=device)).numpy(),
                                  theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert [name for name, _ in ours.named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match="num_channels 5 must be divisible by num_groups 2"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4\) expects input \(N, 4, ...\), got shape \(1, 3, 5, 5\)"):
        ours(minitl.tensor(x[:, :3], device=device))
