"""Demo 2: three transfer strategies, what each trains, and what a step of each costs.

Run:  python demos/02_strategies_and_cost.py
What to notice: ``describe()`` shows, per block, whether it is frozen, its effective learning
rate and whether its backward runs. The cost table puts the FLOPs counted from shapes beside the
measured time of one real step: a frozen backbone skips the whole backward below the head, yet
its forward still costs the same, so the time ratio is not the FLOP ratio.
"""
import numpy

import minitl
from minitl import transfer
from minitl.data import Normalize, fashion_split
from minitl.models import SmallCNN
from minitl.optim import SGD


def pretrained():
    """SmallCNN with the shipped paired weights (new 5-class head), or random ones if none ship."""
    if minitl.weights.is_registered("fashion-paired"):
        return SmallCNN(num_classes=5, weights="fashion-paired")
    return SmallCNN(num_classes=5)


def main():
    minitl.manual_seed(0)
    lr = 0.01
    for name, options in (("fe", {}), ("ft", {"backbone_lr_scale": 0.1}), ("bitfit", {})):
        strategy = transfer.get_strategy(name, **options)
        print(strategy.describe(strategy.apply(pretrained()), lr=lr), end="\n\n")

    target = fashion_split("paired-target", subset="mini")
    source = minitl.weights.entry("fashion-paired") if minitl.weights.is_registered("fashion-paired") else None
    # the source task's statistics, stored beside the weights: the pretrained backbone expects them
    target.transform = Normalize(**source["normalization"]) if source else Normalize.from_dataset(target)
    images, labels = target.get_batch(numpy.arange(0, len(target), len(target) // 64)[:64])
    images, labels = minitl.tensor(images), minitl.tensor(labels)
    setups = {}
    for label, name, options in (("frozen backbone (fe)", "fe", {}),
                                 ("full fine-tune (ft 1.0)", "ft", {"backbone_lr_scale": 1.0})):
        model = transfer.get_strategy(name, **options).apply(pretrained())
        setups[label] = (model, SGD(model, lr=lr, momentum=0.9))
    comparison = transfer.cost_comparison(setups, images, labels, repeats=5)
    print(f"one training step, batch {images.shape[0]} of 1x28x28:")
    print(comparison, end="\n\n")
    print(comparison.rows[0]["flops"])


if __name__ == "__main__":
    main()
