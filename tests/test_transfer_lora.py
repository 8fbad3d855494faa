"""transfer.lora (wrap/unwrap/merged_state_dict) and the lora / adapter / prompt strategies."""
import numpy
import pytest

import minitl
from minitl import transfer
from minitl.models import SmallCNN, resnet8
from minitl.transfer import lora


def _x(rng, shape=(4, 1, 28, 28)):
    return minitl.tensor(rng.standard_normal(shape))


def _eval(model, x):
    model.eval()
    with minitl.no_grad():
        return model(x).numpy()


def test_wrap_keeps_names_and_a_pretrained_file_still_loads(tmp_path, rng):
    model = SmallCNN(num_classes=5)
    original = list(model.state_dict())
    minitl.save(model.state_dict(), tmp_path / "plain.npz")
    lora.wrap(model, rank=2, targets=["backbone.block2.0", "backbone.block3.*"])
    keys = list(model.state_dict())
    assert [k for k in keys if "lora" not in k] == original
    assert set(keys) - set(original) == {f"backbone.{b}.0.{k}" for b in ("block2", "block3")
                                         for k in ("lora_A", "lora_B", "lora_merged")}
    report = model.load(tmp_path / "plain.npz", strict=False)
    assert sorted(report.missing) == sorted(set(keys) - set(original)) and not report.unexpected
    with pytest.raises(KeyError, match="no Linear or Conv2d layer matches"):
        lora.wrap(SmallCNN(), targets=["backbone.nothing"])


def test_unwrap_and_merged_state_dict(rng):
    model = SmallCNN(num_classes=5)
    x = _x(rng)
    before = _eval(model, x)
    lora.wrap(model, rank=3)
    for _, layer in lora.lora_layers(model):
        layer.lora_B.data[...] = 0.01 * rng.standard_normal(layer.lora_B.shape)
    trained = _eval(model, x)
    plain = SmallCNN(num_classes=5)
    plain.load_state_dict(lora.merged_state_dict(model))  # strict: the plain model's keys exactly
    numpy.testing.assert_allclose(_eval(plain, x), trained, rtol=1e-4, atol=1e-5)
    lora.unwrap(model, merge=False)
    assert not lora.lora_layers(model) and all(p.requires_grad for p in model.parameters())
    numpy.testing.assert_array_equal(_eval(model, x), before)


@pytest.mark.parametrize("name, added", [("lora", ".lora_"), ("adapter", ".adapter."), ("prompt", ".prompt.")])
def test_strategies_start_at_the_pretrained_model_and_train_only_their_part(name, added, rng):
    x = _x(rng)
    model = SmallCNN(num_classes=5, weights="fashion-paired")
    before = _eval(model, x)
    strategy = transfer.get_strategy(name)
    model = strategy.apply(model)
    numpy.testing.assert_array_equal(_eval(model, x), before)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(added in n or n.startswith("head.") for n in trainable)
    assert {"head.weight", "head.bias"} <= set(trainable)
    description = strategy.describe(model, lr=0.01)
    table = transfer.count_flops(model, (8, 1, 28, 28))
    assert description.trainable == table.trainable_parameters == sum(
        int(p.data.size) for p in model.parameters() if p.requires_grad)
    assert table.backward_flops > transfer.count_flops(transfer.get_strategy("fe").apply(
        SmallCNN(num_classes=5, weights="fashion-paired")), (8, 1, 28, 28)).backward_flops
    strategy.apply(model)  # applying again replaces, never stacks
    assert sum(int(p.data.size) for p in model.parameters() if p.requires_grad) == description.trainable


def test_prompt_is_the_only_trainable_tensor_besides_the_head_and_its_count_by_hand():
    model = transfer.get_strategy("prompt", pad=2).apply(SmallCNN(num_classes=5))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names == ["backbone.block1.prompt.top", "backbone.block1.prompt.bottom", "backbone.block1.prompt.left",
                     "backbone.block1.prompt.right", "head.weight", "head.bias"]
    table = transfer.count_flops(model, (8, 1, 28, 28))
    assert table.trainable_parameters == 2 * 2 * (28 + 28 - 4) + 128 * 5 + 5
    convs = [r for r in table.rows if r["type"] == "Conv2d"]
    assert all(r["input_grad"] and not r["weight_grad"] and r["backward_flops"] == r["forward_flops"] for r in convs)
    with pytest.raises(TypeError, match="first block"):
        transfer.get_strategy("prompt").apply(resnet8(num_classes=5, in_channels=1))


def test_lora_on_resnet_keeps_torchvision_names():
    model = resnet8(num_classes=5)
    original = list(model.state_dict())
    transfer.get_strategy("lora", rank=2).apply(model)
    assert [k for k in model.state_dict() if "lora" not in k] == original
    assert "conv1.lora_A" in model.state_dict() and "fc.lora_A" not in model.state_dict()
