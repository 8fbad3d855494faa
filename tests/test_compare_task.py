"""The tasks ``minitl compare`` runs across data sets (``--source fashion --target digits``) and the
similarity dial on the target (``--target-permute``): which weights, which classes, which images."""
import json

import numpy
import pytest

from minitl import weights as registry
from minitl.cli import build_parser, main
from minitl.compare import Protocol, compare, load_task
from minitl.compare.task import PERMUTE_SEED, TaskError
from minitl.data import MNIST_CLASSES, PermutePixels
from minitl.data.fashion_mnist import FASHION_MNIST_CLASSES

SHORT = Protocol(min_steps=12, min_epochs=2)
FIRST = numpy.arange(8)


def test_fashion_to_digits_uses_the_fashion_weights_and_every_digit():
    task = load_task(source="fashion", target="digits")
    assert task.weights == "fashion-paired" and task.split == "fashion->digits"
    assert task.classes == list(MNIST_CLASSES)
    assert (len(task.target_train), len(task.target_test)) == (4000, 1000)
    assert task.normalization == registry.entry("fashion-paired")["normalization"]  # the *source* scale
    assert task.source_test.classes == ["T-shirt/top", "Trouser", "Pullover", "Sandal", "Sneaker"]
    assert "bundled subsets" in task.description and "digits" in task.description
    assert load_task("default", source="fashion", target="digits").weights == "fashion-default"


def test_digits_to_fashion_uses_the_digits_weights_and_every_garment():
    task = load_task(source="digits", target="fashion")
    assert task.weights == "digits" and task.classes == list(FASHION_MNIST_CLASSES)
    assert len(task.target_train) == 10_000 and task.source_test.classes == list(MNIST_CLASSES)
    assert len(task.source_calibration) == 500
    model = task.pretrained_model()
    assert model.num_classes == 10 and task.source_model().num_classes == 10


@pytest.mark.parametrize("source, target, words", [
    ("digits", "digits", "both 'digits'"),
    ("digits", (0, 1, 2), "not one of each"),
    ("photos", "digits", "no data set named 'photos'"),
])
def test_bad_domain_pairs_are_refused_with_what_to_write(source, target, words):
    with pytest.raises(TaskError, match=words):
        load_task(source=source, target=target)


def test_the_class_splits_still_parse_and_names_are_told_apart(capsys):
    for argv, words in ((["--source", "photos", "--target", "digits"], "neither a data set"),
                        (["--target-permute", "1.5"], "from 0 to 1")):
        with pytest.raises(SystemExit):  # argparse: a usage error, before anything loads
            main(["compare", *argv, "--quiet"])
        assert words in capsys.readouterr().err
    with pytest.raises(TaskError, match="share classes"):
        load_task(source=(1, 2), target=(2, 3))
    args = build_parser().parse_args(["compare", "--source", "5,6,7,8,9", "--target", "0,1,2,3,4"])
    assert (args.source, args.target, args.target_permute) == ((5, 6, 7, 8, 9), (0, 1, 2, 3, 4), None)
    args = build_parser().parse_args(["compare", "--source", "digits", "--target", "fashion", "--target-permute", "1"])
    assert (args.source, args.target, args.target_permute) == ("digits", "fashion", 1.0)


def test_target_permute_shuffles_the_target_images_only_and_p0_changes_nothing():
    plain = load_task("paired")
    zero = load_task("paired", target_permute=0.0)
    half = load_task("paired", target_permute=0.5)
    numpy.testing.assert_array_equal(zero.target_test.get_batch(FIRST)[0], plain.target_test.get_batch(FIRST)[0])
    expected = PermutePixels(0.5, seed=PERMUTE_SEED)(plain.target_train.get_batch(FIRST)[0])
    numpy.testing.assert_array_equal(half.target_train.get_batch(FIRST)[0], expected)
    numpy.testing.assert_array_equal(half.source_test.get_batch(FIRST)[0], plain.source_test.get_batch(FIRST)[0])
    assert half.as_dict()["target_permute"] == 0.5 and "permuted" in half.description
    assert plain.as_dict()["target_permute"] is None


@pytest.mark.slow
def test_a_cross_domain_comparison_judges_claim_1_from_its_own_runs():
    task = load_task(source="digits", target="fashion")
    task.target_test = task.target_test.subset(range(0, len(task.target_test), 10))
    task.source_test = task.source_test.subset(range(0, len(task.source_test), 5))
    result = compare(strategies="scratch,fe", n="1", seeds=2, protocol=SHORT, verbose=False, task=task)
    claim = result["verdicts"]["claims"][0]
    accuracy = {run["strategy"]: [] for run in result["runs"]}
    for run in result["runs"]:
        accuracy[run["strategy"]].append(run["target_accuracy"])
    frozen_wins = numpy.mean(accuracy["fe"]) > numpy.mean(accuracy["scratch"])
    assert claim["holds"] in (True, False)
    if claim["holds"]:
        assert frozen_wins  # a verdict that transfer helped needs the frozen runs ahead on average
    assert result["settings"]["task"]["weights"] == "digits"


@pytest.mark.slow
def test_cli_compare_across_data_sets_with_the_dial(tmp_path, capsys):
    assert main(["compare", "--source", "fashion", "--target", "digits", "--target-permute", "0.5",
                 "--strategies", "fe", "--n", "1", "--seeds", "1", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "MNIST (handwritten digits)" in printed and "permuted" in printed
    settings = json.loads((tmp_path / "compare.json").read_text())["settings"]
    assert settings["task"]["target_permute"] == 0.5 and settings["task"]["split"] == "fashion->digits"
    assert settings["task"]["target_classes"] == list(MNIST_CLASSES)
