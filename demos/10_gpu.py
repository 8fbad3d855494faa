"""Demo 10: the same training on the GPU, when there is one (CuPy through minitl's one backend seam).

Run:  python demos/10_gpu.py [--smoke]
What to notice: the code is the CPU code with ``device="cuda"``; the loader moves each batch once and
the model's parameters live on the GPU. Without CuPy or a GPU this says so and exits 0.
"""
import argparse
import sys
import time

from minitl import backend
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.train import evaluate
from minitl.transfer import get_strategy, seeded


def train_on(device, task, epochs, smoke):
    strategy = get_strategy("ft", backbone_lr_scale=0.1)
    with seeded(1):
        model = strategy.apply(task.pretrained_model()).to(device)
    loader = DataLoader(few_shot(task.target_train, 100, seed=0), batch_size=32, shuffle=True, seed=0, device=device)
    started = time.perf_counter()
    strategy.fit(model, loader, epochs=epochs, lr=0.05, momentum=0.9, weight_decay=5e-4)
    seconds = time.perf_counter() - started
    accuracy = evaluate(model, DataLoader(task.target_test, batch_size=100, device=device))["accuracy"]
    print(f"{device}: {epochs} epochs in {seconds:.2f} s, test accuracy {accuracy:.1%}")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="one epoch (CI)")
    args = parser.parse_args(argv)
    epochs = 1 if args.smoke else 10
    print(f"set-up: n = 100 labelled images per class of the paired target task, 1 seed (images 0, head 1, batch "
          f"order 0), {epochs} epoch(s) of FineTune(backbone_lr_scale=0.1), SGD lr 0.05 momentum 0.9, on each device")
    if not backend.is_gpu_available():
        print(f"no GPU here (CuPy with a CUDA device is not available): nothing to show. {backend.GPU_INSTALL_HINT}")
        return 0
    task = load_task("paired")
    for device in ("cuda", "cpu"):
        train_on(device, task, epochs, args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
