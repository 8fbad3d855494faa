"""``minitl.cuda`` and ``minitl.device``: PyTorch's spellings of the device questions."""
import minitl
from minitl import backend


def test_is_available_agrees_with_the_backend():
    assert minitl.cuda.is_available() is backend.is_gpu_available()
    assert minitl.cuda.device_count() == (0 if not backend.is_gpu_available() else minitl.cuda.device_count())
    assert (minitl.cuda.device_count() > 0) == minitl.cuda.is_available()


def test_device_objects_compare_with_names():
    d = minitl.device("cuda:0")
    assert d == "cuda" and d.type == "cuda" and d.index == 0 and repr(d) == "device(type='cuda')"
    assert minitl.device("cpu") == "cpu" and minitl.device("cpu").index is None
    t = minitl.zeros(2)
    assert t.device == minitl.device("cpu") and t.device.type == "cpu"
    assert minitl.zeros(2, device=minitl.device("cpu")).device == "cpu"


def test_the_usual_device_line_runs():
    device = minitl.device("cuda" if minitl.cuda.is_available() else "cpu")
    assert minitl.ones(3).to(device).device == device
