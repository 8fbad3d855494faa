"""tensor_methods.py: the operators and methods that run an op, attached to Tensor once the ops exist."""
from minitl import tensor_methods
from minitl.core.tensor import Tensor


def test_every_method_of_tensor_methods_is_attached_to_tensor_itself():
    """tensor.py cannot import the ops, so tensor_methods.py writes these methods and copies them onto
    Tensor: each one is then Tensor's own attribute, and Tensor has no extra base class."""
    names = [name for name in vars(tensor_methods.TensorMethods)
             if not name.startswith("__") or name in ("__add__", "__matmul__", "__getitem__", "__floordiv__")]
    assert {"sum", "reshape", "to", "new_zeros", "__add__"} <= set(names)
    assert "backward" in vars(Tensor) and "backward" not in names  # autograd's entry lives in core/tensor.py
    for name in names:
        assert vars(Tensor)[name] is vars(tensor_methods.TensorMethods)[name], name
    assert Tensor.__mro__ == (Tensor, object)
    assert hash(Tensor([1.0])) is not None  # the comparisons live in tensor.py, so Tensor stays hashable
