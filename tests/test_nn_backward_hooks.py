"""register_full_backward_hook: the same grad_input / grad_output as PyTorch's, None where PyTorch has None."""
import numpy
import pytest

import minitl
from minitl import nn
from parity import torch_or_skip


def _twins(rng):
    torch = torch_or_skip()
    ours = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.data[...] = rng.standard_normal(p.shape).astype(numpy.float32)
            q.copy_(torch.from_numpy(p.data.copy()))
    return torch, ours, theirs


def _record(model, log, to_numpy):
    handles = []
    for index in range(3):
        def hook(module, grad_input, grad_output, index=index):
            log.append((index, [None if g is None else to_numpy(g) for g in grad_input],
                        [to_numpy(g) for g in grad_output]))
        handles.append(model[index].register_full_backward_hook(hook))
    return handles


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_backward_hooks_match_torch(rng):
    torch, ours, theirs = _twins(rng)
    x = rng.standard_normal((6, 4)).astype(numpy.float32)
    upstream = rng.standard_normal((6, 3)).astype(numpy.float32)
    ours_log, theirs_log = [], []
    _record(ours, ours_log, lambda g: g.numpy())
    _record(theirs, theirs_log, lambda g: g.detach().numpy())
    ours(minitl.tensor(x)).backward(minitl.tensor(upstream))
    theirs(torch.from_numpy(x)).backward(torch.from_numpy(upstream))

    assert [entry[0] for entry in ours_log] == [entry[0] for entry in theirs_log] == [2, 1, 0]
    for (_, gi, go), (_, tgi, tgo) in zip(ours_log, theirs_log):
        assert len(gi) == len(tgi) and len(go) == len(tgo) == 1
        for a, b in zip(gi + go, tgi + tgo):
            assert (a is None) == (b is None)  # the first layer's input needs no gradient: None in both
            if a is not None:
                numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the parameter gradients are unchanged by watching them
    for p, q in zip(ours.parameters(), theirs.parameters()):
        numpy.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_hook_can_replace_grad_input_like_torch(rng):
    torch, ours, theirs = _twins(rng)
    x = rng.standard_normal((2, 4)).astype(numpy.float32)
    ours[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    theirs[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    ours(minitl.tensor(x)).sum().backward()
    theirs(torch.from_numpy(x)).sum().backward()
    numpy.testing.assert_allclose(ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_removed_hook_and_frozen_prefix_do_not_run(rng):
    _, ours, _ = _twins(rng)
    calls = []
    handle = ours[2].register_full_backward_hook(lambda m, gi, go: calls.append("head"))
    ours[0].register_full_backward_hook(lambda m, gi, go: calls.append("first"))
    ours[0].freeze()
    ours(minitl.tensor(numpy.ones((1, 4)))).sum().backward()
    assert calls == ["head"]  # the frozen first layer recorded no node: no gradient ever reached it
    handle.remove()
    ours(minitl.tensor(numpy.ones((1, 4)))).sum().backward()
    assert calls == ["head"]


def test_hook_on_a_module_returning_a_tuple_is_refused():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    pair = Pair()
    pair.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(NotImplementedError, match="Pair: register_full_backward_hook needs a module"):
        pair(minitl.tensor(numpy.ones(2), requires_grad=True))
