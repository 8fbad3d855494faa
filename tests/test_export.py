"""``minitl.export.to_torch`` / ``minitl export torch``: the generated PyTorch model computes minitl's logits.

Each case exports a model, imports the written ``model.py`` / ``finetune.py`` as a user would, loads
``weights.pt`` strictly, and compares logits on one batch in eval mode and in train mode (BatchNorm
on batch statistics). The figures printed with ``-s`` are the largest differences seen.
"""
import collections
import json
import os
import subprocess
import sys

import numpy
import pytest

import minitl
from exported import import_finetune, minitl_state, torch_state
from minitl import nn
from minitl.export import ExportError, model_source, to_torch
from minitl.transfer import lora
from parity import torch_or_skip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sequential_tree():
    return nn.Sequential(collections.OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
                               nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, stride=2, bias=False), nn.GELU(), nn.Dropout(0.3)),
        classifier=nn.Sequential(nn.Flatten(), nn.Linear(6 * 2 * 2, 16), nn.LayerNorm(16), nn.Tanh(),
                                 nn.Linear(16, 3)),
    ))


def _lora_smallcnn(merged):
    model = lora.wrap(minitl.models.SmallCNN(num_classes=5, weights="fashion-paired"), rank=4, alpha=8,
                      targets=["backbone.block3.0", "backbone.block2.0"])
    rng = numpy.random.default_rng(3)
    for name, p in model.named_parameters():
        if name.endswith("lora_B"):  # B starts at zero: move it, or the update would be invisible
            p.data[...] = rng.normal(0, 0.05, p.shape).astype(numpy.float32)
    if merged:
        lora.merge(model)
    return model


CASES = {
    "smallcnn-pretrained": (lambda: minitl.models.SmallCNN(num_classes=5, weights="fashion-paired"), (6, 1, 28, 28)),
    "mlp": (lambda: minitl.models.MLP([784, 64, 32, 10], activation="gelu"), (6, 1, 28, 28)),
    "lenet5": (lambda: minitl.models.LeNet5(num_classes=7), (4, 1, 28, 28)),
    "resnet8": (lambda: minitl.models.resnet8(num_classes=10), (4, 3, 32, 32)),
    "resnet18": (lambda: minitl.models.resnet18(num_classes=10), (4, 3, 64, 64)),  # layer4 still 2x2
    "sequential-tree": (_sequential_tree, (5, 1, 12, 12)),
    "lora-unmerged": (lambda: _lora_smallcnn(merged=False), (6, 1, 28, 28)),
    "lora-merged": (lambda: _lora_smallcnn(merged=True), (6, 1, 28, 28)),
}


def _batch_norm_stats_moved(model, rng):
    """Give every BatchNorm running statistics of its own, so eval mode is not a plain identity."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.data[...] = rng.normal(0, 0.1, m.running_mean.shape)
            m.running_var.data[...] = rng.uniform(0.5, 1.5, m.running_var.shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_exported_model_gives_minitl_logits(case, tmp_path):
    torch = torch_or_skip()
    build, shape = CASES[case]
    model = build()
    rng = numpy.random.default_rng(0)
    if case != "smallcnn-pretrained":
        _batch_norm_stats_moved(model, rng)
    to_torch(model, tmp_path)
    finetune = import_finetune(tmp_path)
    recipe = finetune.load_recipe(tmp_path / "recipe.json")
    theirs = finetune.load_model(recipe, tmp_path / "weights.pt")  # load_state_dict(strict=True) inside
    assert list(theirs.state_dict()) == list(model.state_dict())  # key for key, in the same order
    ours_state, their_state = minitl_state(model), torch_state(theirs)
    assert all(numpy.array_equal(ours_state[k], their_state[k]) for k in ours_state)

    x = rng.normal(size=shape).astype(numpy.float32)
    worst = {}
    for mode in ("eval", "train"):
        getattr(model, mode)()
        getattr(theirs, mode)()
        if mode == "train" and any(isinstance(m, nn.Dropout) for m in model.modules()):
            for m in model.modules():
                if isinstance(m, nn.Dropout):
                    m.eval()  # two frameworks draw different masks: compare the rest in train mode
            for m in theirs.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.eval()
        ours = model(minitl.tensor(x)).numpy()
        expected = theirs(torch.from_numpy(x)).detach().numpy()
        assert ours.shape == expected.shape
        numpy.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * numpy.abs(expected).max(), err_msg=mode)
        worst[mode] = float(numpy.abs(ours - expected).max() / numpy.abs(expected).max())
    print(f"\n{case}: logits differ by at most {worst['eval']:.1e} (eval) and {worst['train']:.1e} (train), "
          f"relative to the largest logit")
    after_train_mode = torch_state(theirs)  # train-mode BatchNorms updated running stats on both sides alike
    ours_after = minitl_state(model)
    for key in ours_after:
        numpy.testing.assert_allclose(ours_after[key], after_train_mode[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_safetensors_file_holds_the_same_arrays(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch = torch_or_skip()
    model = minitl.models.SmallCNN(num_classes=5, weights="fashion-paired")
    to_torch(model, tmp_path)
    from_safetensors = safetensors_torch.load_file(str(tmp_path / "model.safetensors"))
    from_pt = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert set(from_safetensors) == set(from_pt) == set(model.state_dict())
    for key, array in model.state_dict().items():
        assert numpy.array_equal(from_safetensors[key].numpy(), array)
        assert numpy.array_equal(from_pt[key].numpy(), array)


class Scale(nn.Module):
    """A layer of a user's own: its forward is code the exporter cannot read."""

    def forward(self, x):
        return x * 2


def test_a_layer_without_a_torch_form_is_named_and_nothing_is_written(tmp_path):
    model = nn.Sequential(collections.OrderedDict(body=nn.Sequential(nn.Linear(4, 4), Scale()),
                                                  head=nn.Linear(4, 2)))
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"layer 'body\.1' is a .*Scale.*Supported layers: .*Conv2d"):
        to_torch(model, out)
    assert not out.exists()


def test_a_subclass_of_a_known_layer_is_refused_too():
    class MyLinear(nn.Linear):  # may have changed forward: exact classes only
        def forward(self, x):
            return super().forward(x) * 0

    with pytest.raises(ExportError, match="'0' is a .*MyLinear"):
        model_source(nn.Sequential(MyLinear(3, 3)))


def test_generated_files_pass_the_projects_lint(tmp_path):
    pytest.importorskip("ruff")
    to_torch(_lora_smallcnn(merged=False), tmp_path / "lora")
    to_torch(minitl.models.resnet8(), tmp_path / "resnet")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", os.path.join(ROOT, "pyproject.toml"),
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_exports_a_reference_model_with_its_recipe(tmp_path, capsys):
    from minitl.cli import main

    out = tmp_path / "out"
    status = main(["export", "torch", "smallcnn", str(out), "--weights", "fashion-paired", "--freeze-to", "2",
                   "--lr-scale", "backbone.block3=0.1", "--lr", "0.05", "--weight-decay", "0.001"])
    assert status == 0
    assert "of them frozen" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["finetune.py", "model.py", "model.safetensors", "recipe.json",
                                       "train_ddp.py", "weights.pt"]
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["frozen_modules"] == ["backbone.block1", "backbone.block2"]
    assert recipe["frozen_batchnorms"] == ["backbone.block1.1", "backbone.block2.1"]
    lrs = {name: group["lr"] for group in recipe["optimizer"]["groups"] for name in group["params"]}
    assert lrs["head.weight"] == pytest.approx(0.05) and lrs["backbone.block3.0.weight"] == pytest.approx(0.005)
    assert {g["weight_decay"] for g in recipe["optimizer"]["groups"]} == {0.001}
    assert recipe["data"]["classes"] == minitl.weights.entry("fashion-paired")["target_classes"]


def test_cli_exports_a_saved_model_file(tmp_path):
    from minitl.cli import main

    model = minitl.models.MLP([784, 16, 4])
    minitl.save(model, tmp_path / "mlp.npz")
    assert main(["export", "torch", str(tmp_path / "mlp.npz"), str(tmp_path / "out")]) == 0
    weights = minitl.load(tmp_path / "out" / "weights.pt")
    assert all(numpy.array_equal(weights[k], v) for k, v in model.state_dict().items())
    assert "class MLP(nn.Module)" in (tmp_path / "out" / "model.py").read_text()


def test_cli_refuses_an_unknown_model_name(tmp_path, capsys):
    from minitl.cli import main

    assert main(["export", "torch", "vgg16", str(tmp_path / "out")]) == 1
    assert "neither a reference model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_takes_frozen_blocks_scales_and_optimizer_settings_from_a_checkpoint(tmp_path):
    from minitl.cli import main
    from minitl.train import save_checkpoint

    model = minitl.models.SmallCNN(num_classes=5)
    model.freeze_to(2)
    model.backbone.block3.lr_scale = 0.25
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.07, momentum=0.5, weight_decay=0.002)
    save_checkpoint(tmp_path / "run.npz", model, optimizer)
    out = tmp_path / "out"
    assert main(["export", "torch", "smallcnn", str(out), "--num-classes", "5", "--checkpoint",
                 str(tmp_path / "run.npz")]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["frozen_modules"] == ["backbone.block1", "backbone.block2"]
    groups = {group["params"][0]: group for group in recipe["optimizer"]["groups"]}
    assert groups["backbone.block3.0.weight"]["lr"] == pytest.approx(0.07 * 0.25)
    assert {(g["momentum"], g["weight_decay"]) for g in groups.values()} == {(0.5, 0.002)}  # not the CLI defaults
    weights = minitl.load(out / "weights.pt")
    assert all(numpy.array_equal(weights[k], v) for k, v in model.state_dict().items())


def test_a_model_on_any_device_exports_its_host_arrays(device, tmp_path):
    model = lora.wrap(minitl.models.MLP([12, 8, 3]), rank=2).to(device)
    model.hidden[0][0].lora_B.data[...] = 0.5
    paths = to_torch(model, tmp_path)
    written = minitl.load(paths["weights.pt"])
    expected = minitl_state(model.to("cpu"))
    assert list(written) == list(expected)
    assert all(numpy.array_equal(written[k], expected[k]) for k in expected)
    assert "LoRALinear(nn.Linear(12, 8), rank=2, alpha=2.0)" in (tmp_path / "model.py").read_text()
