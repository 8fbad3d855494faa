"""LoRA layers: identity at init, merge/unmerge, gradients (gradcheck and PyTorch), optimizer state, cost."""
import numpy
import pytest

import minitl
from minitl import nn, optim
from minitl.core.tensor import Tensor
from minitl.nn.layers.lora import LoRAConv2d, LoRALinear
from minitl.transfer import count_flops
from minitl.transfer.cost import saved_activation_bytes
from parity import torch_or_skip


def _linear(device, rank=3):
    return LoRALinear(nn.Linear(6, 5).to(device), rank=rank, alpha=6)


def _conv(device, rank=2):
    return LoRAConv2d(nn.Conv2d(3, 4, 3, stride=2, padding=1).to(device), rank=rank, alpha=4)


def _moved(layer, rng):
    """B moved off zero, as after some training (B = 0 would make every check trivial)."""
    layer.lora_B.data[...] = minitl.tensor(rng.standard_normal(layer.lora_B.shape), device=layer.weight.device).data
    return layer


def _bits(array):
    return numpy.ascontiguousarray(array).view(numpy.uint32)


@pytest.mark.parametrize("make, shape", [(_linear, (7, 6)), (_conv, (2, 3, 9, 9))])
def test_identity_at_init_to_the_last_bit(make, shape, device, rng):
    layer = make(device)
    x = minitl.tensor(rng.standard_normal(shape), device=device)
    base = layer.to_base()
    numpy.testing.assert_array_equal(_bits(layer(x).numpy()), _bits(base(x).numpy()))
    assert not layer.weight.requires_grad and layer.lora_A.requires_grad and layer.lora_B.requires_grad
    assert float(numpy.abs(layer.lora_A.numpy()).sum()) > 0 and not layer.lora_B.numpy().any()


@pytest.mark.parametrize("make, shape", [(_linear, (7, 6)), (_conv, (2, 3, 9, 9))])
def test_merge_and_unmerge_are_exact_to_round_off(make, shape, device, rng):
    layer = _moved(make(device), rng)
    x = minitl.tensor(rng.standard_normal(shape), device=device)
    before, unmerged_out = layer.weight.numpy().copy(), layer(x).numpy()
    delta = layer.delta_weight()
    layer.merge()
    assert layer.merged and int(layer.lora_merged.data) == 1
    numpy.testing.assert_allclose(layer.weight.numpy(), before + minitl.backend.asnumpy(delta), rtol=0, atol=1e-6)
    numpy.testing.assert_allclose(layer(x).numpy(), unmerged_out, rtol=1e-5, atol=1e-5)
    layer.merge()  # a second merge does nothing
    layer.unmerge()
    ulp = numpy.spacing(numpy.abs(before) + numpy.abs(minitl.backend.asnumpy(delta))).astype(numpy.float32)
    assert (numpy.abs(layer.weight.numpy() - before) <= 2 * ulp).all()
    numpy.testing.assert_allclose(layer(x).numpy(), unmerged_out, rtol=1e-5, atol=1e-5)


def test_merged_state_loads_without_applying_the_update_twice(rng):
    layer = _moved(_linear("cpu"), rng).merge()
    other = _linear("cpu")
    other.load_state_dict(layer.state_dict())
    x = minitl.tensor(rng.standard_normal((4, 6)))
    assert other.merged
    numpy.testing.assert_array_equal(other(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("make, shape", [(_linear, (4, 6)), (_conv, (2, 3, 5, 5))])
def test_gradients_of_a_and_b_by_gradcheck(make, shape, device, rng):
    layer = _moved(make(device), rng).double()
    x = minitl.tensor(rng.standard_normal(shape), dtype="float64", device=device, requires_grad=True)
    assert minitl.gradcheck(lambda x_, a_, b_: layer(x_), [x, layer.lora_A, layer.lora_B])


def _torch_linear(torch, layer, x, w, b, a, bb):
    return torch.nn.functional.linear(x, w, b) + layer.scaling * (x @ a.T) @ bb.T


def _torch_conv(torch, layer, x, w, b, a, bb):
    conv = torch.nn.functional.conv2d
    h = conv(x, a, None, stride=2, padding=1)
    return conv(x, w, b, stride=2, padding=1) + layer.scaling * conv(h, bb[:, :, None, None])


@pytest.mark.parametrize("make, shape, torch_math", [(_linear, (7, 6), _torch_linear),
                                                     (_conv, (2, 3, 9, 9), _torch_conv)])
def test_matches_the_same_math_in_torch(make, shape, torch_math, device, rng):
    torch = torch_or_skip()
    layer = _moved(make(device), rng)
    x = rng.standard_normal(shape).astype(numpy.float32)
    ours_x = minitl.tensor(x, requires_grad=True, device=device)
    out = layer(ours_x)
    w, b, a, bb = (torch.tensor(p.numpy()) for p in (layer.weight, layer.bias, layer.lora_A, layer.lora_B))
    a.requires_grad_(), bb.requires_grad_()
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_math(torch, layer, tx, w, b, a, bb)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    upstream = rng.standard_normal(out.shape).astype(numpy.float32)
    out.backward(minitl.tensor(upstream, device=device))
    expected.backward(torch.from_numpy(upstream))
    for ours, theirs in ((ours_x, tx), (layer.lora_A, a), (layer.lora_B, bb)):
        numpy.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert layer.weight.grad is None and layer.bias.grad is None  # the base layer is frozen


@pytest.mark.parametrize("make_optimizer", [lambda m: optim.SGD(m, lr=0.1, momentum=0.9, weight_decay=0.01),
                                            lambda m: optim.Adam(m, lr=0.01)])
def test_base_weight_gets_no_optimizer_state_and_never_moves(make_optimizer, rng):
    layer = _linear("cpu")
    before = layer.weight.numpy().copy()
    optimizer = make_optimizer(layer)
    x = minitl.tensor(rng.standard_normal((8, 6)))
    for _ in range(3):
        optimizer.zero_grad()
        minitl.core.ops.reduce.sum(layer(x) * layer(x)).backward()
        optimizer.step()
    held = {id(key) for key, state in optimizer.state.items() if state}
    assert id(layer.lora_A) in held and id(layer.lora_B) in held
    assert id(layer.weight) not in held and id(layer.bias) not in held
    numpy.testing.assert_array_equal(layer.weight.numpy(), before)
    assert layer.lora_B.numpy().any()  # B learned (its gradient is not zero at B = 0)


def test_flop_counts_by_hand():
    # N=4; layer 1 (10->8, r=2), input needs no grad; layer 2 (8->3, r=2), input needs grad.
    model = nn.Sequential(LoRALinear(nn.Linear(10, 8), rank=2), nn.ReLU(), LoRALinear(nn.Linear(8, 3), rank=2))
    table = count_flops(model, (4, 10))
    first, second = (row for row in table.rows if row["type"] == "LoRALinear")
    assert first["forward_macs"] == 4 * (10 * 8 + 2 * (10 + 8))                 # base + update = 464
    assert first["backward_flops"] == 2 * 4 * 2 * (2 * 8 + 10)                # dB, dh, dA only = 416
    assert second["forward_macs"] == 4 * (8 * 3 + 2 * (8 + 3))                 # 184
    assert second["backward_flops"] == 2 * (4 * 2 * (2 * 3 + 8) + 4 * 8 * 3 + 4 * 2 * 8)  # + dx = 544
    assert table.trainable_parameters == 2 * (10 + 8) + 2 * (8 + 3)
    model[0].merge()
    merged = next(row for row in count_flops(model, (4, 10)).rows if row["type"] == "LoRALinear")
    assert merged["forward_macs"] == 4 * 10 * 8 and merged["backward_flops"] == 0


def test_saved_activations_are_only_what_the_update_needs():
    """x (for dA), h = x A^T (for dB), s*B (for dh) and the scalar s, and nothing else: the frozen base
    output feeds the final add, which needs no gradient for it, so the graph only names it."""
    n, fan_in, fan_out, rank = 16, 32, 10, 4
    layer = LoRALinear(nn.Linear(fan_in, fan_out), rank=rank)
    out = layer(Tensor(numpy.zeros((n, fan_in), numpy.float32)))
    held = saved_activation_bytes(out, {id(p.data) for p in layer.parameters()})
    by_ops = 4 * (n * fan_in + n * rank + fan_out * rank + 1)
    assert held == by_ops
    base = nn.Linear(fan_in, fan_out)
    base_out = base(Tensor(numpy.zeros((n, fan_in), numpy.float32)))
    assert saved_activation_bytes(base_out, {id(p.data) for p in base.parameters()}) == 4 * n * fan_in  # trainable W
