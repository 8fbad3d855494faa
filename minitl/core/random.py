"""Seeded randomness for the whole engine.

One NumPy ``Generator`` drives every random initialisation, dropout mask and shuffle on the CPU, so
``minitl.manual_seed(n)`` makes a run reproducible. On the GPU, initialisation and dropout masks are drawn
*on the device* by a CuPy generator seeded from the same seed (``get_device_rng``: no mask crosses the bus),
so a seed gives reproducible numbers on each device but NOT the same numbers on both (PCG64 vs XORWOW).
Shuffles always use the host generator, the only one a checkpoint stores (a resumed run's device stream
starts again from the seed).
"""
import numpy

_generator = numpy.random.default_rng(0)
_seed = 0
_device_generators = {}  # GPU array module -> its Generator, made from _seed on first use


def manual_seed(seed: int) -> None:
    """Reseed the global generators; every later init, dropout mask and shuffle follows from ``seed``."""
    global _generator, _seed
    _generator, _seed = numpy.random.default_rng(int(seed)), int(seed)
    _device_generators.clear()


def get_device_rng(xp):
    """The generator that draws on ``xp``'s device: the host one for NumPy, a CuPy ``Generator``
    (seeded from ``manual_seed``) for CuPy. Only ``random``, ``standard_normal`` and ``integers``
    exist on both."""
    if xp is numpy:
        return _generator
    if xp not in _device_generators:
        _device_generators[xp] = xp.random.default_rng(_seed)
    return _device_generators[xp]


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
