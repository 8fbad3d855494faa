"""train_ddp.py under ``torchrun --nproc_per_node 2`` (gloo, CPU) takes the steps of one process with twice the batch.

Two processes with 8 images each and one process with 16 see the same 16 images a step (one
DistributedSampler permutation, dealt out in turn), and DDP averages the two gradients, so the
losses of both steps must agree to float32 round-off: the second one only if the first update was
the same. The exported model has its first blocks frozen (BatchNorms in eval) and an lr_scale.
finetune.py, run as a script, moves every trainable parameter and nothing frozen. Each run is a
process group of its own and is killed whole if it overstays its timeout.
"""
import json
import os
import re
import signal
import subprocess
import sys

import numpy
import pytest

import minitl
from exported import small_fashion_mnist
from minitl.export import fashion_mnist_data, to_torch
from parity import torch_or_skip

TIMEOUT_S = 300
STEP_LINE = re.compile(r"step (\d+) loss (\S+)")


def run_script(arguments, cwd):
    """Run ``python ARGUMENTS`` in ``cwd``; return its output. Its whole process group dies on timeout."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, *arguments], cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=TIMEOUT_S)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)  # torchrun and the workers it started: nothing outlives the test
            child.wait()
    assert child.returncode == 0, output[-3000:]
    return output


def run_torchrun(processes, arguments, cwd):
    return run_script(["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                       "train_ddp.py", *arguments], cwd)


def _losses(output):
    return {int(step): float(loss) for step, loss in STEP_LINE.findall(output)}


def _export(tmp_path):
    data = tmp_path / "fashion-mnist"
    data.mkdir()
    small_fashion_mnist(data)
    model = minitl.models.SmallCNN(num_classes=5, weights="fashion-paired")
    model.freeze_to(1)                          # block1 frozen
    model.backbone.block2[1].freeze()           # and block2's BatchNorm: gloo has no SyncBatchNorm
    model.backbone.block3[1].freeze()
    model.backbone.lr_scale = 0.1
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    out = tmp_path / "export"
    to_torch(model, out, optimizer, data=fashion_mnist_data(classes=[5, 6, 7, 8, 9], mean=[0.29], std=[0.35],
                                                            root=data))
    return model, out


@pytest.mark.slow
def test_finetune_script_trains_what_is_not_frozen(tmp_path):
    torch = torch_or_skip()
    model, out = _export(tmp_path)
    output = run_script(["finetune.py", "--steps", "3", "--batch-size", "8", "--out", "tuned.pt"], out)
    assert sorted(_losses(output)) == [1, 2, 3] and "test accuracy" in output
    tuned = torch.load(out / "tuned.pt", weights_only=True)
    frozen = json.loads((out / "recipe.json").read_text())["frozen_parameters"]
    for key, start in model.state_dict().items():
        moved = not numpy.array_equal(tuned[key].numpy(), start)
        assert moved == (key not in frozen and "running" not in key and "num_batches" not in key), key


@pytest.mark.slow
def test_two_processes_take_the_steps_of_one_with_twice_the_batch(tmp_path):
    torch_or_skip()
    _, out = _export(tmp_path)
    common = ["--steps", "2", "--epochs", "1", "--seed", "3"]
    two = run_torchrun(2, [*common, "--batch-size", "8", "--out", "two.pt"], out)
    one = run_torchrun(1, [*common, "--batch-size", "16", "--out", "one.pt"], out)
    assert "2 processes (gloo) x 8 images" in two and "1 processes (gloo) x 16 images" in one
    losses_two, losses_one = _losses(two), _losses(one)
    assert sorted(losses_two) == sorted(losses_one) == [1, 2]
    print(f"\ntorchrun --nproc_per_node 2, batch 8 each: losses {losses_two[1]!r}, {losses_two[2]!r}"
          f"\ntorchrun --nproc_per_node 1, batch 16:     losses {losses_one[1]!r}, {losses_one[2]!r}")
    assert losses_two[1] != losses_two[2]  # the first step changed the model
    for step in (1, 2):
        assert losses_two[step] == pytest.approx(losses_one[step], rel=1e-5)
    torch = torch_or_skip()
    weights_two = torch.load(out / "two.pt", weights_only=True)
    weights_one = torch.load(out / "one.pt", weights_only=True)
    for key in weights_one:
        numpy.testing.assert_allclose(weights_two[key].numpy(), weights_one[key].numpy(), rtol=1e-4, atol=1e-6,
                                      err_msg=key)
