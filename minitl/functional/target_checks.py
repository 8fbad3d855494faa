"""Classification targets: recognise the two classic mistakes before the loss computes anything.

* arguments swapped, ``cross_entropy(labels, logits)``: the first argument is integer or 1-D
  while the second is a float matrix;
* float class labels, ``cross_entropy(logits, labels.float())`` (labels read from a CSV or made with
  ``tensor([0., 2., 1.])``): a float target is read as class *probabilities* of shape (N, C), so a float
  (N,) vector is neither.

Talks to: ``loss.py`` (calls ``check_class_target``), ``tensor.py``.
"""
import numpy

from ..tensor import Tensor


def _dtype_and_shape(value):
    if isinstance(value, Tensor):
        return value.dtype, tuple(value.shape)
    array = numpy.asarray(value)
    return array.dtype, array.shape


def check_class_target(name, input, target):  # noqa: A002 - PyTorch's name
    """Raise a TypeError / ValueError saying what is wrong and what to write, for ``name(input, target)``."""
    input_dtype, input_shape = _dtype_and_shape(input)
    target_dtype, target_shape = _dtype_and_shape(target)
    if input_dtype.kind in "biu" or (len(input_shape) == 1 and target_dtype.kind == "f" and len(target_shape) == 2):
        raise TypeError(f"{name}: the arguments look swapped: input has dtype {input_dtype} and shape "
                        f"{input_shape}, target {target_dtype} and {target_shape}. {name}(input, target) takes the "
                        f"model's scores (N, C) first and the class labels (N,) second: write {name}(logits, labels)")
    if target_dtype.kind == "f" and len(input_shape) >= 2 and \
            target_shape == input_shape[:1] + input_shape[2:]:
        raise TypeError(f"{name}: target holds float class labels ({target_dtype}, shape {target_shape}); class "
                        "labels must be integers: pass target.long() (a float target is read as class "
                        f"probabilities of the input's shape {input_shape})")
