"""The command line: ``minitl <command>`` (or ``python -m minitl <command>``).

    minitl info                      versions, GPU, where Fashion-MNIST was found
    minitl summary smallcnn --num-classes 5 --freeze-to 2
    minitl inspect weights.pth       what a weight file holds, read safely (no code runs)
    minitl pretrain --split paired   train SmallCNN on a source split, write weights/ + manifest
    minitl weights                   the shipped pretrained weights (weights/manifest.json)
    minitl view-step --freeze-to 2   one training step replayed in a self-contained HTML page
    minitl compare [--quick]         freeze, fine-tune or train from scratch: accuracy, forgetting, cost
    minitl export torch smallcnn out/ --weights fashion-paired --freeze-to 2   continue in PyTorch (DDP)
    minitl exercises make OUT/       a student copy: each solution region replaced by a stub
    minitl check conv2d              check an exercise in the imported code (--all: every one)

Each command is a thin layer over the library, so what it prints is what the API returns.
"""
import argparse
import sys

import numpy

import minitl
from minitl import weights
from minitl.compare import load_task
from minitl.compare.command import add_parser as add_compare
from minitl.data.fashion_mnist import find_fashion_mnist, load_bundled
from minitl.exercises.command import add_parsers as add_exercises
from minitl.export.command import add_parser as add_export
from minitl.io import read_weights
from minitl.table import text_table
from minitl.transfer.pretrain import pretrain as pretrain_split

MODELS = {
    "smallcnn": ("SmallCNN", (1, 1, 28, 28)),
    "lenet5": ("LeNet5", (1, 1, 28, 28)),
    "resnet8": ("resnet8", (1, 3, 32, 32)),
    "resnet18": ("resnet18", (1, 3, 224, 224)),
}


def _info(args, out):
    out.write(f"minitl {minitl.__version__}, numpy {numpy.__version__}\n")
    out.write(f"default device: {minitl.backend.default_device()}\n")
    gpu = minitl.backend.is_gpu_available()
    out.write(f"GPU (CuPy): {'available' if gpu else 'not available; ' + minitl.backend.GPU_INSTALL_HINT}\n")
    folder = find_fashion_mnist()
    out.write(f"Fashion-MNIST: {folder if folder else 'full set not found; the bundled subset will be used'}\n")
    return 0


def _summary(args, out):
    name, input_shape = MODELS[args.model]
    model = getattr(minitl.models, name)(num_classes=args.num_classes)
    if args.input_shape:
        input_shape = tuple(int(n) for n in args.input_shape.split(","))  # summary() adds a missing batch axis
    if args.freeze_to:
        model.freeze_to(args.freeze_to)
    out.write(str(model.summary(input_shape, print_table=False)) + "\n")
    return 0


def _inspect(args, out):
    weights = read_weights(args.path)
    total = sum(int(a.size) for a in weights.values())
    out.write(f"{args.path}: {weights.format} file, {len(weights)} arrays, {total:,} numbers\n")
    width = max((len(k) for k in weights), default=0)
    for key, array in weights.items():
        out.write(f"  {key:<{width}}  {str(array.dtype):<8} {tuple(array.shape)}\n")
    _inspect_manifest_entry(args.path, out)
    return 0


def _inspect_manifest_entry(path, out):
    """Beside the tensors: the weights/manifest.json entry of a shipped file (architecture, classes, ...)."""
    record = weights.entry_for_file(path)
    if record is None:
        return
    out.write(f"manifest entry {record['name']!r} (weights/manifest.json):\n")
    normalization = record.get("normalization", {})
    lines = [("architecture", f"{record.get('architecture')} {record.get('arguments')}"),
             ("source classes", ", ".join(record.get("source_class_names", []))),
             ("target classes", ", ".join(record.get("target_class_names", []))),
             ("mean / std", f"{normalization.get('mean')} / {normalization.get('std')}"),
             ("source test accuracy", f"{record.get('source_test_accuracy', float('nan')):.2%}"),
             ("recipe", ", ".join(f"{k}={v}" for k, v in record.get("recipe", {}).items())),
             ("sha256", record.get("sha256")), ("size", f"{record.get('size_bytes', 0):,} bytes")]
    for label, value in lines:
        out.write(f"  {label:<21} {value}\n")


def _pretrain(args, out):
    record = pretrain_split(args.split, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                            steps=args.steps, subset=args.subset, where=args.out, verbose=True)
    out.write(f"wrote {record['file']}: source test accuracy {record['source_test_accuracy']:.2%}, "
              f"{record['size_bytes']:,} bytes, sha256 {record['sha256'][:16]}...\n")
    return 0


def _weights(args, out):
    rows = [(r["name"], r["file"], r["architecture"], ", ".join(r.get("source_class_names", [])),
             f"{r.get('source_test_accuracy', float('nan')):.2%}", f"{r.get('size_bytes', 0) // 1024} KiB")
            for r in weights.list()]
    if not rows:
        out.write(f"no shipped weights in {weights.folder()} (run `minitl pretrain --split paired`)\n")
        return 0
    out.write(text_table(("name", "file", "architecture", "source classes", "source acc", "size"), rows) + "\n")
    return 0


def _transfer_batch(args, model_name):
    """SmallCNN with the shipped weights ``args.weights`` and a new head, and a batch of its target task."""
    if not weights.is_registered(args.weights):
        raise ValueError(weights.unknown_name_message(args.weights))
    record = weights.entry(args.weights)
    if record["architecture"] != model_name:
        raise ValueError(f"--weights {args.weights} are for {record['architecture']}; use --model "
                         f"{record['architecture'].lower()}")
    task = load_task(record["split"], verbose=False)
    model = getattr(minitl.models, model_name)(num_classes=len(task.classes), weights=args.weights)
    pick = numpy.random.default_rng(args.seed).choice(len(task.target_train), size=args.batch_size, replace=False)
    images, labels = task.target_train.get_batch(pick)
    title = (f"One training step of {model_name} from the pretrained weights {args.weights!r}, a new head for the "
             f"target classes ({', '.join(task.classes)})")
    return model, minitl.tensor(images), minitl.tensor(labels), title


def _view_step(args, out):
    name, input_shape = MODELS[args.model]
    if input_shape[1:] != (1, 28, 28):
        raise ValueError(f"view-step runs on Fashion-MNIST images (1x28x28); {args.model} expects "
                         f"{input_shape[1:]}: choose smallcnn or lenet5")
    minitl.manual_seed(args.seed)
    title = None
    if args.weights:  # transfer: the pretrained backbone, a new head, a batch of the target task
        model, x, y, title = _transfer_batch(args, name)
    else:
        model = getattr(minitl.models, name)(num_classes=args.num_classes)
        images, labels = load_bundled("train")  # the bundled sample: works on a fresh machine
        pick = numpy.random.default_rng(args.seed).choice(len(images), size=args.batch_size, replace=False)
        pixels = images.astype(numpy.float32) / 255
        x = (pixels[pick] - pixels.mean()) / pixels.std()  # normalised with the sample's own mean and std
        x = minitl.tensor(x[:, None])
        y = minitl.tensor(labels[pick].astype(numpy.int64) % args.num_classes)
    if args.freeze_to:
        model.freeze_to(args.freeze_to)
    if args.optimizer == "adam":
        optimizer = minitl.optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = minitl.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    record = minitl.inspect.view_step(model, x, y, optimizer, path=args.out, preset=args.preset or None,
                                      seed=args.seed, title=title)
    out.write(f"wrote {args.out}: {len(record['backward'])} backward nodes, loss {record['loss_before']} -> "
              f"{record['loss_after']}; open it in a browser\n")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="minitl", description="minitl: transfer learning, step by step")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, GPU and data locations").set_defaults(run=_info)
    summary = commands.add_parser("summary", help="the summary() table of a reference model")
    summary.add_argument("model", choices=sorted(MODELS))
    summary.add_argument("--num-classes", type=int, default=10)
    summary.add_argument("--freeze-to", type=int, default=0, help="freeze the first K blocks")
    summary.add_argument("--input-shape", help="C,H,W of one input or N,C,H,W of a batch, as summary() takes "
                         "(default: the model's usual size)")
    summary.set_defaults(run=_summary)
    inspect = commands.add_parser("inspect", help="list what a weight file holds (read safely)")
    inspect.add_argument("path")
    inspect.set_defaults(run=_inspect)
    view = commands.add_parser("view-step", help="run one training step and write a page that replays it")
    view.add_argument("--model", choices=["smallcnn", "lenet5"], default="smallcnn")
    view.add_argument("--num-classes", type=int, default=10, help="classes of a random model (without --weights)")
    view.add_argument("--weights", metavar="NAME", help="start from shipped weights (e.g. fashion-paired, see "
                      "`minitl weights`): a new head, a batch of the target task")
    view.add_argument("--freeze-to", type=int, default=0, help="freeze the first K blocks")
    view.add_argument("--batch-size", type=int, default=8)
    view.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    view.add_argument("--lr", type=float, default=0.01)
    view.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    view.add_argument("--seed", type=int, default=0)
    view.add_argument("--preset", action="append", choices=["forward", "backward", "update"],
                      help="show only this panel (repeat for several)")
    view.add_argument("--out", default="step.html", help="where to write the page")
    view.set_defaults(run=_view_step)
    pretrain = commands.add_parser("pretrain", help="pretrain SmallCNN on a source split; write weights/")
    pretrain.add_argument("--split", default="paired", choices=("paired", "default", "digits"),
                          help="a transfer pair (minitl.data.TRANSFER_PAIRS), or digits: every class of MNIST")
    pretrain.add_argument("--epochs", type=int, default=5)
    pretrain.add_argument("--batch-size", type=int, default=128)
    pretrain.add_argument("--lr", type=float, default=0.05)
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--steps", type=int, default=None, help="stop after this many steps (a quick try)")
    pretrain.add_argument("--subset", choices=["mini"], default=None, help="the bundled sample, not the full set")
    pretrain.add_argument("--out", default=None, help="weights folder (default: weights/ of the checkout)")
    pretrain.set_defaults(run=_pretrain)
    commands.add_parser("weights", help="list the shipped pretrained weights").set_defaults(run=_weights)
    add_compare(commands)
    add_export(commands)
    add_exercises(commands)
    return parser


def main(argv=None, out=None):
    """Run one command; returns the exit status (errors are printed, not raised)."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, out)
    except (OSError, ValueError, minitl.backend.DeviceError) as error:  # WeightFormatError is a ValueError
        sys.stderr.write(f"minitl {args.command}: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
