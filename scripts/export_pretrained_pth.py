"""Write weights/smallcnn-fashion-paired.pth with PyTorch itself, from minitl's shipped weights.

    python3 scripts/export_pretrained_pth.py          (needs torch; run from the repository root)

Loads ``fashion-paired`` (source head included) into minitl's SmallCNN, copies every array into the
PyTorch twin (``tests/torch_twins.py``: the same network, the same state_dict names), checks that
both give the same logits on real images, and saves the twin's state_dict with ``torch.save``. The
result is a real ``.pth`` (a zip pickle written by PyTorch), registered in weights/manifest.json as
``fashion-paired-pth``: a demo can show that minitl reads it with torch *not* installed
(``SmallCNN(num_classes=5, weights="fashion-paired-pth")``; the allow-list unpickler runs no code).
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy  # noqa: E402
import torch  # noqa: E402

import minitl  # noqa: E402
from minitl import weights  # noqa: E402
from minitl.data import Normalize, fashion_split  # noqa: E402
from tests.torch_twins import torch_smallcnn  # noqa: E402

SOURCE, NAME = "fashion-paired", "fashion-paired-pth"


def main():
    record = weights.entry(SOURCE)
    model = weights.source_model(SOURCE).eval()
    twin = torch_smallcnn(**record["arguments"]).eval()
    twin.load_state_dict({k: torch.from_numpy(numpy.array(v)) for k, v in model.state_dict().items()}, strict=True)
    images = fashion_split("paired-source", train=False, subset="mini")
    images.transform = Normalize(**record["normalization"])
    batch, _ = images.get_batch(numpy.arange(64))
    with minitl.no_grad(), torch.no_grad():
        ours, theirs = model(minitl.tensor(batch)).data, twin(torch.from_numpy(batch)).numpy()
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    path = weights.folder() / "smallcnn-fashion-paired.pth"
    torch.save(twin.state_dict(), path)
    entry = dict({k: v for k, v in record.items() if k not in ("name", "sha256", "size_bytes")},
                 file=path.name, format="pytorch zip pickle", written_by=f"torch.save, torch {torch.__version__}",
                 converted_from=record["file"])
    entry = weights.register_file(NAME, entry)
    print(f"wrote {path} ({entry['size_bytes']:,} bytes, sha256 {entry['sha256'][:16]}...); "
          f"logits match minitl within {numpy.abs(ours - theirs).max():.2e}")


if __name__ == "__main__":
    main()
