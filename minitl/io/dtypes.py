"""Dtype helpers shared by the readers and writers.

bfloat16 has no NumPy dtype. It is the top half of a float32 (same exponent, 7 mantissa bits), so
reading widens the 16-bit patterns to float32 exactly. (minitl writes no bfloat16.) Used by
torch_pickle.py, safetensors.py, keras_h5.py and onnx.py.
"""
import numpy


def bfloat16_bits_to_float32(bits) -> numpy.ndarray:
    """uint16 bit patterns (any shape) -> float32 with the same values, exactly."""
    bits = numpy.asarray(bits).astype("<u2", copy=False)
    return (bits.astype(numpy.uint32) << 16).view(numpy.float32)
