"""minitl: a small deep-learning engine on NumPy (CuPy on the GPU) for learning transfer learning.

Start here: ``minitl.tensor`` makes a Tensor, ``Tensor.backward`` computes gradients,
``minitl.gradcheck`` checks them; ``minitl.nn`` has the layers (each with ``frozen`` and
``lr_scale``), ``minitl.models`` the reference models, ``minitl.io`` the weight files.

The imports below run in the order of the house (docs/architecture.md): the core first, bottom up
(backend <- tensor <- autograd <- functional <- nn), then what is built on it.
"""
from .version import __version__

# ----- the spine (minitl/core), bottom up -----
from .core import backend, random, seams
from .core.backend import device, is_gpu_available
from .deterministic import are_deterministic_algorithms_enabled, use_deterministic_algorithms
from .core.ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from .core.ops.arithmetic import abs, exp, log, sqrt  # noqa: A004
from .core.ops.linalg import matmul
from .core.ops.reduce import mean, sum  # noqa: A004
from .core.ops.shape import (broadcast_to, cat, expand, flatten, permute, reshape, squeeze, stack, transpose,
                             unsqueeze)
from .functional.elementwise import (ceil, clamp, clip, cos, expm1, floor, floor_divide, log1p, log2, maximum,  # noqa: A004
                                     minimum, remainder, round, rsqrt, sign, sin, trunc, where)
from .functional.activation import gelu
from .functional.reductions import all, amax, amin, any, argmax, argmin, max, min, std, var  # noqa: A004
from .functional.indexing import gather, index_select, masked_fill, scatter, scatter_add, split
from .core.random import manual_seed
from .core.tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor

# ----- wings: each plugs into the spine through core/seams.py -----
from . import fast  # the fast twins of the reference ops register themselves (fast/__init__.py)
from .fast.allocator import keep_freed_memory
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randint_like, randn, randn_like, randperm, zeros,
                       zeros_like)
from .functional.einsum import einsum
from .functional.products_and_scans import cumsum, logsumexp, prod
from .functional.rearrange import flip, repeat, roll, tile
from .functional.activation import (hardsigmoid, hardswish, hardtanh, logsigmoid, mish, relu6, selu,
                                                   silu)
from .functional.sorting import argsort, sort, topk
from . import tensor_methods  # attaches x + y, x.sum(), x.backward(), ... to Tensor, now that the ops exist
from .gradcheck import GradcheckError, gradcheck
from . import nn

# ----- built on the spine -----
from . import cuda
from . import data
from . import inspect
from . import io
from . import models
from . import optim
from . import train
from . import transfer
from . import export
from . import viz
from . import weights
from .exercises import check  # minitl.check("conv2d"): an exercise, in the code imported
from .io.save_load import load, save  # by file name: .pt is PyTorch, else .npz


# dtype names, as PyTorch spells them (a dtype is its NumPy name here)
float32 = float = "float32"  # noqa: A001 - torch.float is float32
float64 = double = "float64"
float16 = half = "float16"
int64 = long = "int64"
int32 = int = "int32"  # noqa: A001 - PyTorch's names (torch.int is int32)
int16 = "int16"
int8 = "int8"
uint8 = "uint8"
bool = "bool"  # noqa: A001

# The one process-wide setting minitl makes, on purpose and here only: glibc keeps freed memory in the heap
# for the next training step instead of handing it back and zero-filling fresh pages each step
# (fast/allocator.py says why and what it costs). $MINITL_KEEP_FREED_MEMORY=0 leaves the allocator alone.
keep_freed_memory()
