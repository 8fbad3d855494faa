"""clip_grad_norm_ scales gradients exactly as torch.nn.utils.clip_grad_norm_ and returns the total norm."""
import numpy
import pytest

from minitl import nn
from minitl.core.tensor import Tensor
from minitl.nn.utils import clip_grad_norm_
from parity import torch_or_skip


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, float("inf")),
                                                 (2.0, 3.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, device, rng):
    torch = torch_or_skip()
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)).to(device)
    torch_params = []
    for p in model.parameters():
        g = rng.standard_normal(p.shape).astype(numpy.float32)
        p.grad = Tensor(g, device=device)
        tp = torch.nn.Parameter(torch.zeros(p.shape))
        tp.grad = torch.tensor(g)
        torch_params.append(tp)
    model[0].bias.grad = None  # parameters without a gradient are ignored
    torch_params[1].grad = None
    total = clip_grad_norm_(model, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type=norm_type)
    assert isinstance(total, Tensor) and total.device == device
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    for p, tp in zip(model.parameters(), torch_params):
        if tp.grad is not None:
            numpy.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_errors_on_nonfinite_when_asked():
    layer = nn.Linear(2, 2)
    layer.weight.grad = Tensor(numpy.array([[numpy.inf, 0.0], [0.0, 0.0]]))
    with pytest.raises(RuntimeError, match="NaN/inf"):
        clip_grad_norm_(layer.parameters(), 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_([], 1.0).item() == 0.0
