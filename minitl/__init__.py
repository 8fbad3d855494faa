"""minitl: a small deep-learning engine on NumPy (CuPy on the GPU) for learning transfer learning.

Start here: ``minitl.tensor`` makes a Tensor, ``Tensor.backward`` computes gradients,
``minitl.gradcheck`` checks them; ``minitl.nn`` has the layers (each with ``frozen`` and
``lr_scale``), ``minitl.models`` the reference models, ``minitl.io`` the weight files.
"""
from . import backend
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import is_gpu_available
from .functional.activation import log_softmax, relu, sigmoid, softmax, tanh
from .functional.elementwise import abs, clamp, clip, exp, log, maximum, minimum, sqrt, where  # noqa: A004
from .functional.linalg import matmul
from .functional.reduce import amax, amin, argmax, max, mean, min, sum, var  # noqa: A004
from .functional.shape import (broadcast_to, cat, expand, flatten, pad, permute, reshape, split,
                               squeeze, stack, transpose, unsqueeze)
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .tensor import Tensor, tensor

from . import nn  # noqa: E402,I001 - built on the core above
from . import models  # noqa: E402
from . import io  # noqa: E402
from . import data  # noqa: E402
from . import optim  # noqa: E402
from . import train  # noqa: E402
from .io.native import load, save  # noqa: E402
from . import weights  # noqa: E402
from . import transfer  # noqa: E402

__version__ = "0.1.0"

float32 = "float32"
float64 = "float64"
int64 = "int64"
from . import inspect  # noqa: E402
from . import viz  # noqa: E402

from .allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()  # process-wide: freed arrays stay in the heap for the next step (see allocator.py)
