"""Fast paths: faster twins of the spine's reference ops, each registered over its reference op.

Importing this package registers them (``core/seams.py``, ``register_fast_path``); each computes the
same values and gradients as its reference, which ``tests/test_fast_paths.py`` checks op by op.
``allocator.py`` is the one process-wide setting minitl makes (``minitl/__init__.py`` says where).
"""
from . import conv, norm, pool
