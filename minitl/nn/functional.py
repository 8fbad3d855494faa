"""PyTorch-style functional API: ``from minitl.nn import functional as F``; the same names as ``minitl.functional``."""
from ..functional import *  # noqa: F403 - the namespace is minitl.functional's, by design
from ..functional import __all__  # noqa: F401
