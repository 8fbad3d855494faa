"""Device-side checks: at once on the CPU, with the next host read (and no extra copy) on the GPU path."""
import numpy
import pytest

from minitl.guards import device_checks


def _error(value):
    return IndexError(f"bad value {value}")


def test_on_the_cpu_the_check_raises_at_once():
    values = numpy.array([1, 5, 9])
    with pytest.raises(IndexError, match="bad value 5"):  # the first bad one is named
        device_checks.deferred_check("test", values > 4, values, _error)
    device_checks.deferred_check("test", values > 9, values, _error)
    assert device_checks.pending_count() == 0


def test_on_the_device_the_check_waits_for_the_next_read_and_costs_no_copy(standin):
    values = standin.asarray(numpy.array([1, 5, 9]))
    device_checks.deferred_check("test", values > 6, values, _error)
    device_checks.deferred_check("test", values > 4, values, _error)  # merged: the earlier bad value is kept
    assert device_checks.pending_count() == 1 and standin.COUNTS.device_to_host == 0
    with pytest.raises(IndexError, match="bad value 9"):
        device_checks.read_to_host(standin.asarray(numpy.float32(0.5)))
    assert standin.COUNTS.device_to_host == 1 and device_checks.pending_count() == 0
    loss = standin.asarray(numpy.float32(0.25))
    device_checks.deferred_check("test", values > 100, values, _error)
    assert device_checks.read_to_host(loss).dtype == numpy.float32 and float(device_checks.read_to_host(loss)) == 0.25


def test_int64_values_keep_their_digits(standin):
    big = standin.asarray(numpy.array([2**60 + 1], dtype=numpy.int64))
    device_checks.deferred_check("test", big < 0, big, _error)
    assert device_checks.read_to_host(big).tolist() == [2**60 + 1]
