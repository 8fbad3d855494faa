"""Weight files written by Keras itself (Keras 3 on its PyTorch backend), loaded into minitl.

Skipped where ``keras`` is not installed; CI installs it. The Keras model and the minitl model
compute the same function once the loader has transposed the kernels (HWIO -> OIHW, (in, out) ->
(out, in)), carried BatchNormalization's epsilon over and permuted the Dense kernel that follows a
Flatten from NHWC order to NCHW order.
"""
import os

import numpy
import pytest

import minitl
from minitl import nn

# Keras' own NumPy-2 deprecation noise, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _keras_cnn(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 2)),
        layers.Conv2D(4, 3, padding="same", name="conv"),
        layers.BatchNormalization(epsilon=1e-3, name="bn"),
        layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(5, activation="relu", name="hidden"),
        layers.Dense(3, name="out"),
    ])


def _minitl_cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 3))


def _randomize_batchnorm(keras_model, rng):
    bn = keras_model.get_layer("bn")
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.uniform(-0.5, 0.5, beta.shape),
                    rng.uniform(-0.5, 0.5, mean.shape), rng.uniform(0.5, 1.5, var.shape)])


def test_keras_saved_weights_give_the_same_outputs(keras, tmp_path):
    rng = numpy.random.default_rng(0)
    keras.utils.set_random_seed(0)
    source = _keras_cnn(keras)
    _randomize_batchnorm(source, rng)
    path = tmp_path / "cnn.weights.h5"
    source.save_weights(str(path))

    model = _minitl_cnn().eval()
    report = model.load(path)
    assert report.ok, str(report)
    assert model[1].eps == pytest.approx(1e-3)  # Keras' epsilon came along
    converted = " ".join(what for _, what in report.converted)
    assert "HWIO" in converted or "OIHW" in converted

    x = rng.standard_normal((3, 2, 8, 8)).astype(numpy.float32)
    expected = numpy.asarray(source(numpy.transpose(x, (0, 2, 3, 1)), training=False).detach().cpu())
    numpy.testing.assert_allclose(model(minitl.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_keras_full_model_file_loads_too(keras, tmp_path):
    keras.utils.set_random_seed(1)
    source = _keras_cnn(keras)
    path = tmp_path / "cnn.keras"
    source.save(str(path))
    model = _minitl_cnn().eval()
    report = model.load(path)
    assert report.ok, str(report)
    x = numpy.random.default_rng(1).standard_normal((2, 2, 8, 8)).astype(numpy.float32)
    expected = numpy.asarray(source(numpy.transpose(x, (0, 2, 3, 1)), training=False).detach().cpu())
    numpy.testing.assert_allclose(model(minitl.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
