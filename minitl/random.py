"""Seeded randomness for the whole engine.

One NumPy ``Generator`` drives every random initialisation, dropout mask and shuffle, so that
``minitl.manual_seed(n)`` makes a run reproducible on the CPU. Random arrays are drawn on the host
and then moved to the device (see ``backend.to_device``): the same seed gives the same numbers on
NumPy and on CuPy, which is what parity tests need.
"""
import numpy

_generator = numpy.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the global generator; every later init, dropout mask and shuffle follows from ``seed``."""
    global _generator
    _generator = numpy.random.default_rng(int(seed))


def get_rng() -> numpy.random.Generator:
    """The global host generator. Draw from it (never from ``numpy.random`` directly)."""
    return _generator


def resolve_rng(seed=None) -> numpy.random.Generator:
    """The generator a seeded operation should draw from.

    ``None``: the global one (so ``manual_seed`` governs it); an int: a fresh generator of its own;
    a ``Generator``: that one. Loaders, transforms and splits all choose their randomness this way.
    """
    if seed is None:
        return _generator
    if isinstance(seed, numpy.random.Generator):
        return seed
    return numpy.random.default_rng(seed)
