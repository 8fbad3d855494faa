"""``minitl export torch MODEL OUT/``: the command line of ``to_torch``.

    minitl export torch smallcnn out/ --weights fashion-paired --freeze-to 2 --lr 0.01
    minitl export torch my_model.npz out/                  # a file written by minitl.save(model, "my_model.npz")
    minitl export torch smallcnn out/ --num-classes 5 --checkpoint run.npz --optimizer adam

MODEL is a reference model name (``smallcnn``, ``lenet5``, ``resnet8``, ``resnet18``) built with
``--weights`` (a shipped name or a weight file) and ``--num-classes``, or a minitl ``.npz`` weight
file whose manifest names its architecture and arguments (``minitl.save`` writes one; so are the
shipped weights). ``--checkpoint`` takes weights, frozen blocks, lr_scales and the optimizer's
settings from a training checkpoint (``save_checkpoint`` / ``ModelCheckpoint``). The recipe's data
are the Fashion-MNIST IDX files (a shipped weight's target classes and normalisation, when it has
them) or, with ``--data DIR``, an image folder.

Talks to: pytorch.py (``to_torch``), ``models``, ``weights`` (the shipped registry), ``io`` (manifests),
``train.checkpoint`` (``resume``), ``optim``.
"""
import os

from .. import models
from .. import weights as registry
from ..core.optim import SGD
from ..io.native import load as load_native
from ..optim.adam import Adam, AdamW
from ..train.checkpoint import resume
from .pytorch import fashion_mnist_data, image_folder_data, to_torch

REFERENCE_MODELS = {"smallcnn": models.SmallCNN, "lenet5": models.LeNet5, "resnet8": models.resnet8,
                    "resnet18": models.resnet18}
ARCHITECTURES = {"SmallCNN": models.SmallCNN, "LeNet5": models.LeNet5, "MLP": models.MLP, "ResNet": models.ResNet}


def _numbers(text):
    return [float(v) for v in text.split(",") if v.strip()]


def _scale(text):
    name, _, value = text.rpartition("=")
    if not name:
        raise ValueError(f"--lr-scale wants NAME=SCALE (e.g. backbone=0.1), got {text!r}")
    return name, float(value)


def add_parser(commands):
    """Add ``export`` (with its one target, ``torch``) to the ``minitl`` sub-command parsers."""
    export = commands.add_parser("export", help="write a model and its fine-tuning recipe as a PyTorch project")
    targets = export.add_subparsers(dest="target", required=True)
    parser = targets.add_parser("torch", help="model.py, weights.pt, model.safetensors, recipe.json, finetune.py, "
                                              "train_ddp.py")
    parser.add_argument("model", help=f"a reference model ({', '.join(REFERENCE_MODELS)}) or a minitl .npz "
                                      "weight file whose manifest names its architecture")
    parser.add_argument("out", help="the folder to write (created if missing)")
    parser.add_argument("--weights", help="for a model name: a shipped weight name or a weight file")
    parser.add_argument("--num-classes", type=int, default=None, help="for a model name (default: the weights' "
                        "classes, else 10)")
    parser.add_argument("--checkpoint", help="a minitl training checkpoint: weights, frozen set, lr_scales and "
                                             "optimizer settings")
    parser.add_argument("--freeze-to", type=int, default=0, help="freeze the first K blocks")
    parser.add_argument("--lr-scale", type=_scale, action="append", default=[], metavar="NAME=SCALE",
                        help="lr_scale of a module, e.g. backbone=0.1 (repeat for several)")
    parser.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="an image folder instead of Fashion-MNIST")
    parser.add_argument("--classes", type=lambda t: [int(c) for c in _numbers(t)], default=None,
                        help="Fashion-MNIST classes to keep and relabel 0..k-1, e.g. 5,6,7,8,9")
    parser.add_argument("--mean", type=_numbers, default=None, help="input normalisation mean, per channel")
    parser.add_argument("--std", type=_numbers, default=None, help="input normalisation std, per channel")
    parser.set_defaults(run=run)
    return parser


def _model(args):
    """The model and the manifest entry it came from (or None): by name, or from a weight file."""
    if args.model.lower() in REFERENCE_MODELS:
        record = registry.entry(args.weights) if registry.is_registered(args.weights) else None
        num_classes = args.num_classes or ((record or {}).get("arguments") or {}).get("num_classes") or 10
        return REFERENCE_MODELS[args.model.lower()](num_classes=num_classes, weights=args.weights), record
    if not os.path.isfile(args.model):
        raise ValueError(f"MODEL {args.model!r} is neither a reference model ({', '.join(REFERENCE_MODELS)}) nor "
                         "a file; give a name, or the path of a .npz written by minitl.save")
    state = load_native(args.model)
    architecture, arguments = state.meta.get("architecture"), state.meta.get("arguments") or {}
    if architecture not in ARCHITECTURES:
        raise ValueError(f"{args.model}: its manifest names the architecture {architecture!r}, which is not a "
                         f"reference model ({', '.join(ARCHITECTURES)}); build the model in Python and call "
                         "minitl.export.to_torch(model, out)")
    model = ARCHITECTURES[architecture](**arguments)
    model.load_state_dict(state)
    return model, registry.entry_for_file(args.model) or state.meta


def _optimizer(args, model):
    if args.optimizer == "sgd":
        return SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    kind = Adam if args.optimizer == "adam" else AdamW
    return kind(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


def _data(args, record):
    normalization = (record or {}).get("normalization") or {}
    mean, std = args.mean or normalization.get("mean"), args.std or normalization.get("std")
    if args.data:
        return image_folder_data(args.data, mean=mean, std=std)
    return fashion_mnist_data(args.classes or (record or {}).get("target_classes"), mean, std)


def run(args, out):
    model, record = _model(args)
    if args.freeze_to:
        model.freeze_to(args.freeze_to)
    modules = dict(model.named_modules())
    for name, scale in args.lr_scale:
        if name not in modules:
            raise ValueError(f"--lr-scale {name}={scale}: the model has no module {name!r}; its top-level modules "
                             f"are {', '.join(n for n in modules if n and '.' not in n)}")
        modules[name].lr_scale = scale
    optimizer = _optimizer(args, model)
    if args.checkpoint:
        resume(args.checkpoint, model, optimizer)
    paths = to_torch(model, args.out, optimizer, data=_data(args, record), epochs=args.epochs,
                     batch_size=args.batch_size, seed=args.seed)
    frozen = sum(int(p.data.size) for p in model.parameters() if not p.requires_grad)
    out.write(f"wrote {args.out}: {', '.join(os.path.basename(p) for p in paths.values())}\n"
              f"  {type(model).__name__}, {sum(int(p.data.size) for p in model.parameters()):,} parameters, "
              f"{frozen:,} of them frozen; next: cd {args.out} && python finetune.py  "
              f"(or torchrun --nproc_per_node N train_ddp.py)\n")
    return 0
