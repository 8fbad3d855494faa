"""Dtype helpers shared by the readers and writers.

bfloat16 has no NumPy dtype. It is the top half of a float32 (same exponent, 7 mantissa bits), so
reading widens the 16-bit patterns to float32 exactly, and writing rounds float32 to the nearest
bfloat16 (ties to even), keeping NaN a NaN. Used by torch_pickle.py, safetensors.py, keras_h5.py
and onnx.py.
"""
import numpy


def bfloat16_bits_to_float32(bits) -> numpy.ndarray:
    """uint16 bit patterns (any shape) -> float32 with the same values, exactly."""
    bits = numpy.asarray(bits).astype("<u2", copy=False)
    return (bits.astype(numpy.uint32) << 16).view(numpy.float32)


def float32_to_bfloat16_bits(values) -> numpy.ndarray:
    """float32 (any shape) -> uint16 bfloat16 patterns, rounded to nearest even.

    Notice: adding 0x7FFF plus the lowest kept bit before the shift is what makes ties go to even.
    """
    values = numpy.asarray(values, dtype=numpy.float32, order="C")
    bits = values.view(numpy.uint32).astype(numpy.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(numpy.uint16)
    nan = numpy.isnan(values)
    # Rounding could carry a NaN's payload into the exponent and make it Inf; force a quiet NaN.
    rounded[nan] = ((bits[nan] >> 16).astype(numpy.uint16) | 0x0040)
    return rounded
