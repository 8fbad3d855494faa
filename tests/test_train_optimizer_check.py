"""fit refuses an optimizer that holds none of the model's parameters, naming both."""
import numpy
import pytest

import minitl
from minitl import optim
from minitl.models import SmallCNN
from minitl.train import fit


def _batches():
    x = minitl.tensor(numpy.zeros((4, 1, 28, 28)))
    return [(x, minitl.tensor(numpy.array([0, 1, 2, 3])))]


def test_optimizer_built_on_another_instance_is_refused():
    model, other = SmallCNN(5), SmallCNN(5)
    optimizer = optim.SGD(other.parameters(), lr=0.1)
    before = model.state_dict()["head.weight"].copy()
    with pytest.raises(ValueError, match=r"the SGD optimizer holds 14 parameter\(s\), none of which belong to this "
                                         r"SmallCNN .*'backbone.block1.0.weight'.*rebuilt after the optimizer.*"
                                         r"optim.SGD\(model.parameters\(\), ...\)"):
        fit(model, optimizer, _batches(), epochs=1, verbose=False)
    numpy.testing.assert_array_equal(model.state_dict()["head.weight"], before)


def test_optimizer_holding_part_of_the_model_is_fine():
    model = SmallCNN(5)
    optimizer = optim.SGD(model.head.parameters(), lr=0.1, warn_unknown=False)  # only the head: legitimate
    history = fit(model, optimizer, _batches(), epochs=1, verbose=False)
    assert len(history.epochs) == 1
