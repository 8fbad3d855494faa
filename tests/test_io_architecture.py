"""A weight file of another model: a short message naming both models, not a 76-line key list; strict=False
that matches nothing raises."""
import numpy
import pytest

import minitl
from minitl.io import StateDictMismatchError, WeightFormatError
from minitl.models import SmallCNN, resnet8


def test_file_of_another_architecture_is_named_from_its_manifest(tmp_path):
    path = tmp_path / "r8.npz"
    minitl.save(resnet8(10), path)
    model = SmallCNN()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError) as caught:
        model.load(path)
    message = str(caught.value)
    assert "holds a ResNet(widths=[16, 32, 64]" in message and "its manifest says so" in message
    assert "loaded into a SmallCNN" in message and "only 0 of the model's" in message
    assert "build the model the file was saved from" in message
    assert len(message.splitlines()) <= 3 and "strict=False accepts" not in message  # no advice that loads nothing
    assert len(caught.value.report.unexpected) == 56  # the full account is still there
    assert isinstance(caught.value, WeightFormatError) and caught.value.path == str(path)
    for k, v in model.state_dict().items():
        numpy.testing.assert_array_equal(v, before[k])


def test_file_without_manifest_is_recognised_by_its_key_names(tmp_path):
    path = tmp_path / "r8.pt"
    minitl.io.save_torch(resnet8(10), path)
    with pytest.raises(StateDictMismatchError, match=r"holds a different model: its keys start conv1, bn1, layer1"):
        SmallCNN().load(path)


def test_strict_false_that_matches_no_key_raises(tmp_path):
    path = tmp_path / "r8.pt"
    minitl.io.save_torch(resnet8(10), path)
    with pytest.raises(StateDictMismatchError, match="strict=False matched no key at all"):
        SmallCNN().load(path, strict=False)
    with pytest.raises(StateDictMismatchError, match="strict=False matched no key at all"):
        SmallCNN().load_state_dict({"something.else": numpy.zeros(3)}, strict=False)


def test_the_same_model_with_a_few_keys_off_still_gets_the_key_list(tmp_path):
    state = dict(SmallCNN().state_dict())
    state.pop("head.bias")
    with pytest.raises(StateDictMismatchError, match="missing from the file: head.bias") as caught:
        SmallCNN().load_state_dict(state)
    assert "different model" not in str(caught.value)
    report = SmallCNN().load_state_dict(state, strict=False)  # a partial strict=False load is fine
    assert report.missing == ["head.bias"]
