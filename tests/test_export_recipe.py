"""The recipe carried over: finetune.py's steps move exactly what minitl's steps move, by the same amounts.

A pretrained SmallCNN with two blocks frozen and ``lr_scale`` on the rest takes the same two steps
in minitl and in the exported ``finetune.py`` (same batches, lr, momentum, weight decay). Frozen
parameters and frozen BatchNorm statistics must stay bit-identical on both sides; every other
parameter and running statistic must move by minitl's amount, within float32 round-off.
"""
import numpy
import pytest

import minitl
from exported import import_finetune, minitl_state, small_fashion_mnist, torch_state
from minitl.data import FashionMNIST, ImageFolder, class_subset
from minitl.data.fashion_mnist import load_bundled
from minitl.export import ExportError, build_recipe, fashion_mnist_data, image_folder_data, to_torch
from minitl.nn import effective_lr_scale
from minitl.nn import functional as F
from minitl.optim import lr_scheduler
from parity import torch_or_skip


def _batches(steps=2, size=16):
    images, labels = load_bundled("train")
    rng = numpy.random.default_rng(7)
    pixels = images.astype(numpy.float32)[:, None] / 255
    pixels = (pixels - 0.29) / 0.35
    picks = [rng.choice(len(images), size=size, replace=False) for _ in range(steps)]
    return [(pixels[p], labels[p].astype(numpy.int64) % 5) for p in picks]


def _model():
    model = minitl.models.SmallCNN(num_classes=5, weights="fashion-paired")
    model.freeze_to(2)                       # block1, block2 frozen, BatchNorms included
    model.backbone.block3.lr_scale = 0.1     # fine-tune block3 ten times slower
    model.lr_scale = 2.0                     # ... under a model-wide scale: the products count
    return model


OPTIMIZERS = {
    "sgd": lambda m: minitl.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd-groups-nesterov": lambda m: minitl.optim.SGD(
        [{"params": list(m.backbone.parameters()), "lr": 0.02, "lr_scale": 0.5},
         {"params": list(m.head.parameters()), "weight_decay": 0.0}],
        lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True),
    "adamw": lambda m: minitl.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01),
    "adam-l2": lambda m: minitl.optim.Adam(m.parameters(), lr=1e-3, betas=(0.8, 0.99), weight_decay=1e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_finetune_steps_move_what_minitl_moves(name, tmp_path):
    torch = torch_or_skip()
    model = _model()
    optimizer = OPTIMIZERS[name](model)
    to_torch(model, tmp_path, optimizer)
    finetune = import_finetune(tmp_path)
    recipe = finetune.load_recipe(tmp_path / "recipe.json")
    theirs = finetune.load_model(recipe, tmp_path / "weights.pt")
    their_optimizer = finetune.make_optimizer(theirs, recipe)
    before = minitl_state(model)
    largest_grad = {}

    for images, labels in _batches():
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(minitl.tensor(images)), minitl.tensor(labels)).backward()
        for key, p in model.named_parameters():
            if p.grad is not None:
                largest_grad[key] = max(largest_grad.get(key, 0.0), float(numpy.abs(p.grad.numpy()).max()))
        optimizer.step()
        finetune.train_step(theirs, their_optimizer, torch.from_numpy(images), torch.from_numpy(labels), recipe)

    ours, after = minitl_state(model), torch_state(theirs)
    frozen_params = set(recipe["frozen_parameters"])
    frozen_buffers = {f"{bn}.{b}" for bn in recipe["frozen_batchnorms"]
                      for b in ("running_mean", "running_var", "num_batches_tracked")}
    assert frozen_params and frozen_buffers
    worst = worst_ulps = 0.0
    compared = []
    for key, start in before.items():
        if key in frozen_params or key in frozen_buffers:
            assert numpy.array_equal(after[key], start), f"{key} is frozen but moved in torch"
            assert numpy.array_equal(ours[key], start), f"{key} is frozen but moved in minitl"
            continue
        if largest_grad.get(key, 1.0) < 1e-6 and name.startswith("adam"):
            # a conv bias right before a BatchNorm on batch statistics: its gradient is 0 in exact
            # arithmetic, so what Adam normalises is round-off noise, different in every framework
            continue
        ours_delta, their_delta = ours[key] - start, after[key] - start
        assert numpy.abs(ours_delta).max() > 0, f"{key} should have moved"
        scale = numpy.abs(ours_delta).max()
        # Adam divides by sqrt(v) + eps: where a gradient is near eps, its round-off is magnified, so a
        # few elements of an Adam move may differ by up to 1% of the array's largest move
        tolerance = 1e-2 if name.startswith("adam") else 1e-4
        # a move is read off a float32 weight: it cannot be finer than that weight's spacing
        spacing = 4 * float(numpy.spacing(numpy.float32(numpy.abs(start).max())))
        numpy.testing.assert_allclose(their_delta, ours_delta, rtol=tolerance, atol=tolerance * scale + spacing,
                                      err_msg=key)
        worst = max(worst, float(numpy.abs(their_delta - ours_delta).max() / scale))
        compared.append(key)
        worst_ulps = max(worst_ulps, float(numpy.abs(their_delta - ours_delta).max()) / spacing * 4)
    print(f"\n{name}: {len(compared)} arrays moved by the same amounts ({', '.join(compared)}); the largest "
          f"difference of a move is {worst:.1e} of that array's largest move, or {worst_ulps:.1f} float32 spacings "
          "of its largest weight")


def test_requires_grad_alone_would_have_moved_the_frozen_statistics(tmp_path):
    """The control: without set_train_mode's eval(), torch's BatchNorm updates frozen statistics."""
    torch = torch_or_skip()
    model = _model()
    to_torch(model, tmp_path)
    finetune = import_finetune(tmp_path)
    recipe = finetune.load_recipe(tmp_path / "recipe.json")
    theirs = finetune.load_model(recipe, tmp_path / "weights.pt")
    frozen_bn = theirs.get_submodule(recipe["frozen_batchnorms"][0])
    start = frozen_bn.running_mean.clone()
    theirs.train()  # PyTorch's plain train(): requires_grad_(False) does not stop the statistics
    images, _ = _batches(1)[0]
    theirs(torch.from_numpy(images))
    assert not torch.equal(frozen_bn.running_mean, start)


def _effective_lrs(model, optimizer):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: g["lr"] * g.get("lr_scale", 1.0) * effective_lr_scale(p)
            for g in optimizer.param_groups for p in g["params"]}


SCHEDULES = {
    "step": lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    "multistep": lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 4], gamma=0.3),
    "exponential": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
    "cosine": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6),
    "linear": lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=3),
    "warmup-cosine": lambda o: lr_scheduler.LinearWarmup(o, 3, after=lr_scheduler.CosineAnnealingLR(o, T_max=4)),
    "warmup": lambda o: lr_scheduler.LinearWarmup(o, 2, start_factor=0.2),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")  # stepped alone here
def test_schedule_gives_every_parameter_minitls_learning_rate(name, tmp_path):
    torch_or_skip()
    model = _model()
    optimizer = OPTIMIZERS["sgd-groups-nesterov"](model)
    scheduler = SCHEDULES[name](optimizer)
    scheduler.step()  # one step already taken in minitl: the export continues from there
    to_torch(model, tmp_path, optimizer, scheduler)
    finetune = import_finetune(tmp_path)
    recipe = finetune.load_recipe(tmp_path / "recipe.json")
    theirs = finetune.load_model(recipe, tmp_path / "weights.pt")
    their_optimizer = finetune.make_optimizer(theirs, recipe)
    their_scheduler = finetune.make_scheduler(their_optimizer, recipe)
    group_of = {n: g for g in their_optimizer.param_groups for n in
                [k for k, p in theirs.named_parameters() if any(p is q for q in g["params"])]}
    for step in range(8):
        expected = _effective_lrs(model, optimizer)
        for key, lr in expected.items():
            assert group_of[key]["lr"] == pytest.approx(lr, rel=1e-9, abs=1e-12), (step, key)
        their_optimizer.step()  # no gradients: nothing moves, but torch wants step() before scheduler.step()
        scheduler.step()
        their_scheduler.step()


def test_schedules_without_a_torch_form_are_refused_by_name():
    model = _model()
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ExportError, match="LambdaLR"):
        build_recipe(model, optimizer, lr_scheduler.LambdaLR(optimizer, lambda t: 0.9 ** t))
    with pytest.raises(ExportError, match="eta_min"):
        build_recipe(model, optimizer, lr_scheduler.CosineAnnealingLR(optimizer, T_max=5, eta_min=0.01))


def test_fashion_mnist_pipeline_is_minitls(tmp_path):
    torch_or_skip()
    small_fashion_mnist(tmp_path)
    classes, mean, std = [7, 5, 9], [0.29], [0.35]
    to_torch(minitl.models.SmallCNN(num_classes=3), tmp_path / "out",
             data=fashion_mnist_data(classes=classes, mean=mean, std=std, root=tmp_path))
    finetune = import_finetune(tmp_path / "out")
    theirs = finetune.load_data(finetune.load_recipe(tmp_path / "out" / "recipe.json"), train=True)
    ours = class_subset(FashionMNIST(root=tmp_path, train=True), classes)
    expected = (ours.images.astype(numpy.float32) / 255 - numpy.float32(mean[0])) / numpy.float32(std[0])
    assert len(theirs) == len(ours) > 0
    numpy.testing.assert_allclose(theirs.tensors[0].numpy(), expected, rtol=1e-6, atol=1e-6)
    assert numpy.array_equal(theirs.tensors[1].numpy(), ours.labels)  # 7 -> 0, 5 -> 1, 9 -> 2, as minitl relabels


def test_image_folder_pipeline_is_minitls(tmp_path):
    torch_or_skip()
    from PIL import Image

    rng = numpy.random.default_rng(5)
    for name, count in (("boot", 3), ("sandal", 2)):
        (tmp_path / "photos" / name / "more").mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(int(rng.integers(10, 30)), int(rng.integers(10, 30)), 3))
            Image.fromarray(pixels.astype(numpy.uint8)).save(tmp_path / "photos" / name / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, size=(16, 20)).astype(numpy.uint8)).save(
            tmp_path / "photos" / name / "more" / "grey.png")  # a sub-folder and a grey image count too
    to_torch(minitl.models.SmallCNN(num_classes=2), tmp_path / "out",
             data=image_folder_data(tmp_path / "photos", grayscale=True, size=12, mean=[0.5], std=[0.25]))
    finetune = import_finetune(tmp_path / "out")
    theirs = finetune.load_data(finetune.load_recipe(tmp_path / "out" / "recipe.json"), train=True)
    ours = ImageFolder(tmp_path / "photos", grayscale=True, size=12).to_array_dataset()
    expected = (ours.images.astype(numpy.float32) / 255 - numpy.float32(0.5)) / numpy.float32(0.25)
    assert theirs.tensors[0].shape == (7, 1, 12, 12)
    numpy.testing.assert_allclose(theirs.tensors[0].numpy(), expected, rtol=1e-6, atol=1e-6)
    assert numpy.array_equal(theirs.tensors[1].numpy(), ours.labels)
