"""minitl: a small deep-learning engine on NumPy (CuPy on the GPU) for learning transfer learning.

Start here: ``minitl.tensor`` makes a Tensor, ``Tensor.backward`` computes gradients,
``minitl.gradcheck`` checks them; ``minitl.nn`` has the layers (each with ``frozen`` and
``lr_scale``), ``minitl.models`` the reference models, ``minitl.io`` the weight files.

The imports below run in the order of the house (docs/architecture.md): the core first, bottom up
(backend <- tensor <- autograd <- functional <- nn), then what is built on it.
"""
from .version import __version__

# ----- the core -----
from . import backend
from .backend import (are_deterministic_algorithms_enabled, device, is_gpu_available,
                      use_deterministic_algorithms)
from .random import manual_seed
from .allocator import keep_freed_memory
from .tensor import Tensor, tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randint_like, randn, randn_like, randperm, zeros,
                       zeros_like)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .functional.activation import (gelu, hardsigmoid, hardswish, hardtanh, log_softmax, logsigmoid, mish, relu,
                                    relu6, selu, sigmoid, silu, softmax, tanh)
from .functional.einsum import einsum
from .functional.elementwise import (abs, clamp, clip, exp, floor_divide, log, maximum, minimum,  # noqa: A004
                                     remainder, sqrt, where)
from .functional.indexing import gather, index_select, masked_fill, scatter, scatter_add
from .functional.linalg import matmul
from .functional.rearrange import flip, repeat, roll, tile
from .functional.reduce import (all, amax, amin, any, argmax, argmin, cumsum, logsumexp, max, mean,  # noqa: A004
                                min, prod, std, sum, var)
from .functional.shape import (broadcast_to, cat, expand, flatten, permute, reshape, split, squeeze, stack,
                               transpose, unsqueeze)
from .functional.sorting import argsort, sort, topk
from .functional.unary import ceil, cos, expm1, floor, log1p, log2, round, rsqrt, sign, sin, trunc  # noqa: A004
from . import tensor_methods  # attaches x + y, x.sum(), x.backward(), ... to Tensor, now that the ops exist
from .gradcheck import GradcheckError, gradcheck
from . import nn

# ----- built on the core -----
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

keep_freed_memory()  # process-wide: freed arrays stay in the heap for the next step (see allocator.py)
