"""load_into: strict errors list every problem and change nothing; ignore, key_map, prefix, report."""
import numpy as np
import pytest

import minitl
import minitl.models
from html_tables import assert_same_cells
from minitl.io import LoadReport, StateDictMismatchError, load_into, save, strip_prefixes


class FakeTensor:
    def __init__(self, array):
        self.data = array


class FakeModel:
    """The smallest object load_into accepts: named_parameters / named_buffers of things with .data."""

    def __init__(self):
        self.params = {"fc1.weight": FakeTensor(np.zeros((3, 2), np.float32)),
                       "fc1.bias": FakeTensor(np.zeros(3, np.float32)),
                       "head.weight": FakeTensor(np.zeros((4, 3), np.float32))}
        self.buffers = {"bn.num_batches_tracked": FakeTensor(np.array(0, np.int64))}

    def named_parameters(self):
        return iter(self.params.items())

    def named_buffers(self):
        return iter(self.buffers.items())


def _source():
    return {"fc1.weight": np.ones((3, 2)), "fc1.bias": np.ones(3), "head.weight": np.ones((4, 3))}


def test_loads_keep_dtype_and_do_not_share_memory():
    model, source = FakeModel(), _source()
    report = load_into(model, source)
    assert report.ok and report.loaded == ["fc1.weight", "fc1.bias", "head.weight"]
    assert model.params["fc1.weight"].data.dtype == np.float32  # the file was float64
    assert report.converted[0][0] == "bn.num_batches_tracked"   # optional key, kept
    source["fc1.bias"][0] = 99
    assert model.params["fc1.bias"].data[0] == 1


def test_strict_failure_lists_every_problem_and_changes_nothing():
    model = FakeModel()
    source = {"fc1.weight": np.ones((2, 2)), "extra": np.ones(1), "head.weight": np.ones((4, 3))}
    with pytest.raises(StateDictMismatchError) as info:
        load_into(model, source)
    message = str(info.value)
    for text in ("missing from the file: fc1.bias", "unexpected in the file: extra",
                 "fc1.weight is (3, 2) in the model but (2, 2) in the file", "NOT changed"):
        assert text in message
    assert info.value.report.mismatched == [("fc1.weight", (3, 2), (2, 2))]
    assert all(not t.data.any() for t in model.params.values())


def test_non_strict_allows_missing_and_skip_mismatch_skips():
    model = FakeModel()
    source = {"fc1.weight": np.ones((2, 2)), "head.weight": np.ones((4, 3))}
    with pytest.raises(StateDictMismatchError):  # a shape mismatch is an error even when not strict
        load_into(model, source, strict=False)
    report = load_into(model, source, strict=False, skip_mismatch=True)
    assert report.missing == ["fc1.bias"] and report.loaded == ["head.weight"] and not report.ok
    assert not model.params["fc1.weight"].data.any()


def test_ignore_key_map_prefix_and_strip_prefixes():
    model = FakeModel()
    source = {f"backbone.module.{k}": v for k, v in _source().items()}
    source["backbone.module.head.weight"] = np.ones((10, 3))
    report = load_into(model, source, prefix="backbone.", key_map=strip_prefixes(), ignore=["head"])
    assert report.ok and report.ignored == ["head.weight"]
    renamed = {"w": np.ones((3, 2)), "b": np.ones(3), "drop": np.ones(1)}
    report = load_into(model, renamed, key_map={"w": "fc1.weight", "b": "fc1.bias", "drop": None}, ignore="head.*")
    assert report.ok and "drop" in report.ignored


def test_report_prints_a_stable_table():
    report = load_into(FakeModel(), {**_source(), "old.bias": np.ones(1)}, strict=False)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("LoadReport into FakeModel: 3 loaded, 0 missing, 1 unexpected")
    assert lines[1].split() == ["status", "key", "detail"] and "UNEXPECTED  old.bias" in text
    assert text == str(load_into(FakeModel(), {**_source(), "old.bias": np.ones(1)}, strict=False))
    assert isinstance(report, LoadReport) and not report.ok


def test_transfer_case_with_real_model(tmp_path):
    minitl.manual_seed(0)
    source_model = minitl.models.SmallCNN(num_classes=10)
    save(source_model, tmp_path / "source.npz")
    target = minitl.models.SmallCNN(num_classes=5)
    head_before = target.state_dict()["head.weight"].copy()
    with pytest.raises(StateDictMismatchError, match="head.weight"):
        load_into(target, tmp_path / "source.npz")
    report = load_into(target, tmp_path / "source.npz", ignore=target.head_keys())
    assert report.ok and report.ignored == ["head.weight", "head.bias"]
    np.testing.assert_array_equal(target.state_dict()["head.weight"], head_before)
    np.testing.assert_array_equal(target.state_dict()["backbone.block1.0.weight"],
                                  source_model.state_dict()["backbone.block1.0.weight"])


class Tied(minitl.nn.Module):
    """An autoencoder whose decoder reuses the encoder's weight: state_dict lists it twice, as torch does."""

    def __init__(self):
        super().__init__()
        self.enc = minitl.nn.Linear(4, 4)
        self.dec = minitl.nn.Linear(4, 4)
        self.dec.weight = self.enc.weight

    def forward(self, x):
        return self.dec(self.enc(x))


def test_tied_weights_reload_their_own_state_dict_and_file(tmp_path):
    model = Tied()
    assert {"enc.weight", "dec.weight"} <= set(model.state_dict())
    save(model, tmp_path / "tied.npz")
    for source in (model.state_dict(), tmp_path / "tied.npz"):
        report = model.load_state_dict(source)
        assert report.ok and "dec.weight" in report.loaded and not report.converted
    assert model.dec.weight is model.enc.weight


def test_tied_weights_with_two_different_values_are_reported():
    model = Tied()
    state = {name: np.array(value) for name, value in model.state_dict().items()}
    state["dec.weight"] = state["enc.weight"] + 1
    report = model.load_state_dict(state)
    assert [name for name, _ in report.converted] == ["dec.weight"]
    assert "shares its tensor with enc.weight" in report.converted[0][1]
    np.testing.assert_array_equal(model.enc.weight.data, state["dec.weight"])


def test_report_shows_itself_as_an_html_table_with_the_printed_rows():
    source = {**_source(), "head.weight": np.ones((2, 3)), "a<b>&c": np.ones(1)}
    report = load_into(FakeModel(), source, strict=False, skip_mismatch=True)
    markup = report._repr_html_()
    assert_same_cells(str(report), markup)  # the summary line, the header, each status, key and detail
    assert "a&lt;b&gt;&amp;c" in markup and "<b>" not in markup
    assert "MISMATCHED" in markup and "model (4, 3) vs file (2, 3)" in markup
    assert repr(report).startswith("<LoadReport into FakeModel: 2 loaded")  # the terminal's repr is unchanged
