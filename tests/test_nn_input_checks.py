"""What a model is fed: channel mismatches name the layer and the fix; lists are refused; 0-255 images warn once."""
import warnings

import numpy
import pytest

import minitl
from minitl import nn
from minitl.models import SmallCNN


def test_rgb_into_a_one_channel_model_names_the_layer_and_suggests_grayscale():
    with pytest.raises(ValueError, match=r"backbone.block1.0 \(Conv2d\) expects 1 input channel\(s\), got 3 .*"
                                         r"Grayscale\(\).*in_channels=3"):
        SmallCNN()(minitl.tensor(numpy.zeros((2, 3, 28, 28))))


def test_channels_last_input_suggests_permute():
    with pytest.raises(ValueError, match=r"expects 3 input channel\(s\), got 28 .*channels-last.*"
                                         r"x.permute\(0, 3, 1, 2\)"):
        SmallCNN(in_channels=3)(minitl.tensor(numpy.zeros((2, 28, 28, 3))))


def test_a_single_image_without_batch_axis_suggests_unsqueeze():
    with pytest.raises(ValueError, match=r"expects a batch of images \(N, 1, H, W\), got shape \(1, 28, 28\); "
                                         r"add the batch axis with x.unsqueeze\(0\)"):
        SmallCNN()(minitl.tensor(numpy.zeros((1, 28, 28))))


def test_a_lone_conv_layer_is_named_by_its_class():
    with pytest.raises(ValueError, match=r"^Conv2d expects 4 input channel\(s\), got 2"):
        nn.Conv2d(4, 8, 3)(minitl.tensor(numpy.zeros((1, 2, 5, 5))))


def test_nested_list_into_a_model_says_how_to_convert():
    with pytest.raises(TypeError, match=r"SmallCNN was called with a Python list \(of list\).*minitl.tensor\(data\)"):
        SmallCNN()([[[[0.0] * 28] * 28]])
    with pytest.raises(TypeError, match=r"minitl.stack\(tensors\)"):
        SmallCNN()([minitl.tensor(numpy.zeros((1, 28, 28)))] * 2)


def test_uint8_images_warn_once_per_model():
    model, images = SmallCNN(), minitl.tensor(numpy.full((2, 1, 28, 28), 200, dtype=numpy.uint8))
    with pytest.warns(UserWarning, match=r"uint8 images .* 0-255 integer scale.*x.float\(\) / 255"):
        model(images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(images)  # the second call is silent
        model(minitl.tensor(numpy.zeros((2, 1, 28, 28))))  # float input never warns



def test_a_batch_of_grey_images_without_channel_axis_suggests_unsqueeze_1():
    """(N, 28, 28) is N images, not one: the fix is a channel axis at 1 (unsqueeze(0) led to "4 channels")."""
    with pytest.raises(ValueError, match=r"got shape \(4, 28, 28\); a batch of 4 grey images \(N, H, W\): add the "
                                         r"channel axis with x.unsqueeze\(1\), giving \(4, 1, 28, 28\)"):
        SmallCNN()(minitl.tensor(numpy.zeros((4, 28, 28))))
    assert SmallCNN()(minitl.tensor(numpy.zeros((4, 28, 28))).unsqueeze(1)).shape == (4, 10)


def test_pretrained_model_fed_0_255_float_pixels_warns_once_naming_normalize():
    model = SmallCNN(num_classes=5, weights="fashion-paired")
    stats = minitl.weights.entry("fashion-paired")["normalization"]
    assert model.input_normalization == stats
    pixels = numpy.random.default_rng(0).integers(0, 256, (4, 1, 28, 28)).astype(numpy.float32)
    mean, std = round(stats["mean"][0], 4), round(stats["std"][0], 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(minitl.tensor((pixels / 255 - stats["mean"][0]) / stats["std"][0]))  # normalised: silent
        model(minitl.tensor(pixels / 255))  # [0, 1] but not normalised: within reach, silent
        SmallCNN(num_classes=5)(minitl.tensor(pixels))  # random weights know no statistics: silent
    with pytest.warns(UserWarning, match=rf"mean \[{mean}\] and std \[{std}\].*reaches 255.*"
                                         rf"Normalize\(mean=\[{mean}\], std=\[{std}\]\)"):
        model(minitl.tensor(pixels))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(minitl.tensor(pixels))  # once per model
