"""minitl.save / minitl.load by file name: a .pt name holds a real PyTorch file; torch.load lines run unchanged."""
import zipfile

import numpy
import pytest

import minitl
from minitl.io import WeightFormatError
from minitl.models import SmallCNN
from parity import torch_or_skip


def test_save_to_a_pt_name_writes_a_pytorch_file_torch_loads(tmp_path):
    torch = torch_or_skip()
    model = SmallCNN(5)
    path = tmp_path / "model.pt"
    minitl.save(model.state_dict(), path)
    assert not any(name.endswith(".npy") for name in zipfile.ZipFile(path).namelist())  # not an npz in disguise
    state = torch.load(path, weights_only=True)
    assert list(state) == list(model.state_dict())
    for name, array in model.state_dict().items():
        numpy.testing.assert_array_equal(state[name].numpy(), array)


@pytest.mark.parametrize("name", ["model.pth", "model.PT", "model.safetensors", "model.npz", "model.weights"])
def test_load_with_torch_arguments_reads_what_save_wrote(name, tmp_path):
    model = SmallCNN(5)
    minitl.save(model, tmp_path / name)
    state = minitl.load(tmp_path / name, weights_only=True, map_location="cpu")
    assert list(state) == list(model.state_dict())
    fresh = SmallCNN(5)
    fresh.load_state_dict(state)
    for name_, array in fresh.state_dict().items():
        numpy.testing.assert_array_equal(array, model.state_dict()[name_])


def test_meta_is_refused_for_formats_that_cannot_keep_it(tmp_path):
    with pytest.raises(WeightFormatError, match="meta .* is kept only in minitl's .npz files"):
        minitl.save(SmallCNN(5), tmp_path / "model.pt", meta={"class_names": list("abcde")})
    assert not (tmp_path / "model.pt").exists()
    minitl.save(SmallCNN(5), tmp_path / "model.npz", meta={"class_names": list("abcde")})
    assert minitl.load(tmp_path / "model.npz").meta["class_names"] == list("abcde")
