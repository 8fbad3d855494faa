"""Demo 9: how transferable is each block? Freeze the first k pretrained blocks, after Yosinski et al. 2014.

Run:  python demos/09_transferability.py [--smoke] [--out DIR]
What to notice: the first k blocks are copied from the pretrained network, the others start fresh;
"frozen" keeps the k copied blocks fixed, "fine-tuned" lets them train too. k = 0 is training from
scratch; frozen k = 3 is feature extraction. Early blocks (edges, textures) transfer well; how
far down freezing still pays shows how specific to the source task the deeper blocks are.
"""
import argparse
from pathlib import Path

from minitl import viz
from minitl.compare import load_task
from minitl.data import DataLoader, few_shot
from minitl.models import SmallCNN
from minitl.optim import SGD
from minitl.optim.lr_scheduler import CosineAnnealingLR
from minitl.train import evaluate, fit
from minitl.transfer import seeded


def transfer_first(task, k, freeze):
    """The pretrained network with blocks k.. (and the head) re-initialised; the first k frozen if asked."""
    with seeded(1):
        model, fresh = task.pretrained_model(), SmallCNN(num_classes=5)
    for block, new in list(zip(model.blocks(), fresh.blocks()))[k:]:
        block.load_state_dict(new.state_dict())
    if freeze:
        model.freeze_to(k)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="k = 0 and 3, a few steps (CI)")
    parser.add_argument("--out", default="demo_output")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = load_task("paired")
    train = few_shot(task.target_train, 20, seed=0)
    depths = [0, 3] if args.smoke else [0, 1, 2, 3]
    results = {"frozen": [], "fine-tuned": []}
    for k in depths:
        for variant in results:
            model = transfer_first(task, k, freeze=variant == "frozen")
            loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
            epochs = 1 if args.smoke else 30
            optimizer = SGD(model, lr=0.05, momentum=0.9, weight_decay=5e-4)
            fit(model, optimizer, loader, epochs=epochs, steps=2 if args.smoke else None, verbose=False,
                scheduler=CosineAnnealingLR(optimizer, T_max=epochs * len(loader)), scheduler_interval="step")
            results[variant].append(evaluate(model, DataLoader(task.target_test, batch_size=100))["accuracy"])
            print(f"first {k} block(s) pretrained, {variant:<10}: test accuracy {results[variant][-1]:.1%}")
    viz.line_chart(results, out / "09_transferability.png", x=depths, x_title="k (pretrained blocks copied)",
                   y_title="target accuracy", title="transferability by depth (n = 20 per class)")
    print(f"plot: {out / '09_transferability.png'}")


if __name__ == "__main__":
    main()
