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
from .functional.shape import (broadcast_to, cat, expand, flatten, permute, reshape, split,
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
from .io.save_load import load, save  # noqa: E402 - by file name: .pt is PyTorch, else .npz
from . import weights  # noqa: E402
from . import transfer  # noqa: E402

__version__ = "0.1.0"

float32 = "float32"
float64 = "float64"
int64 = "int64"
from . import inspect  # noqa: E402
from . import viz  # noqa: E402

# issue 13: PyTorch's everyday API
from . import cuda  # noqa: E402
from .backend import device  # noqa: E402
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,  # noqa: E402
                       linspace, ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like,
                       randperm, zeros, zeros_like)

float16 = half = "float16"
double = "float64"
long = "int64"
int32 = int = "int32"  # noqa: A001 - PyTorch's names (torch.int is int32)
int16 = "int16"
int8 = "int8"
uint8 = "uint8"
bool = "bool"  # noqa: A001
float = "float32"  # noqa: A001 - torch.float is float32
from .functional.einsum import einsum  # noqa: E402
from .functional.elementwise import floor_divide, remainder  # noqa: E402
from .functional.indexing import gather, index_select, masked_fill, scatter, scatter_add  # noqa: E402
from .functional.rearrange import flip, repeat, roll, tile  # noqa: E402
from .functional.reduce import all, any, argmin, cumsum, logsumexp, prod, std  # noqa: E402,A004
from .functional.sorting import argsort, sort, topk  # noqa: E402
from .functional.unary import ceil, cos, expm1, floor, log1p, log2, round, rsqrt, sign, sin, trunc  # noqa: E402,A004
from .functional.activation import gelu, hardsigmoid, hardswish, hardtanh, logsigmoid, mish, relu6, selu, silu  # noqa: E402,I001

from .allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()  # process-wide: freed arrays stay in the heap for the next step (see allocator.py)

from .backend import are_deterministic_algorithms_enabled, use_deterministic_algorithms  # noqa: E402
