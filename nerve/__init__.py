"""nerve: artificial neural networks from first principles, on NumPy.

The engine is ``nerve.Tensor`` with reverse-mode autodiff (``nerve.autograd``); layers, losses and
initializers are in ``nerve.nn``, optimizers in ``nerve.optim``. Names and semantics follow PyTorch,
so ``import nerve as torch`` ports most code.
"""

__version__ = "0.1.0"

from nerve import _malloc  # noqa: E402

_malloc.tune()

from nerve import autograd  # noqa: E402
from nerve._dtype import (  # noqa: E402
    bool_,
    dtype,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from nerve.autograd import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from nerve.device import cuda_available, device  # noqa: E402
from nerve.ops.creation import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from nerve.ops.elementwise import (  # noqa: E402
    abs,
    add,
    allclose,
    ceil,
    clamp,
    clip,
    cos,
    div,
    eq,
    erf,
    exp,
    expm1,
    floor,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    sub,
    tanh,
    trunc,
    where,
)
from nerve.ops.index import (  # noqa: E402
    argsort,
    gather,
    index_add,
    index_select,
    masked_fill,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
    sort,
    take_along_dim,
    topk,
)
from nerve.ops.linalg import bmm, dot, einsum, matmul, mm, outer  # noqa: E402
from nerve.ops.reduce import (  # noqa: E402
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from nerve.ops.shape import (  # noqa: E402
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    permute,
    repeat,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    t,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
)
from nerve.random import (  # noqa: E402
    Generator,
    bernoulli,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    normal,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)
from nerve.serialization import load, save  # noqa: E402
from nerve.tensor import Size, Tensor  # noqa: E402
from nerve.threads import get_num_threads, set_num_threads  # noqa: E402

bool = bool_  # noqa: A001  (nerve.bool, like torch.bool)
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16


def is_tensor(obj) -> "builtins.bool":  # noqa: F821
    return isinstance(obj, Tensor)


def numel(x) -> "builtins.int":  # noqa: F821
    return x.numel()


def clone(x):
    return x.clone()


def detach(x):
    return x.detach()


def square(x):
    return x * x


def softmax(x, dim, dtype=None):
    from nerve.nn.functional import softmax as _softmax

    return _softmax(x, dim, dtype=dtype)


def log_softmax(x, dim, dtype=None):
    from nerve.nn.functional import log_softmax as _log_softmax

    return _log_softmax(x, dim, dtype=dtype)


def __getattr__(name):
    # Parts that load on first use: nn, optim, data, save/load, summary.
    import importlib

    if name in ("nn", "optim", "data", "datasets", "models", "classic", "train", "utils"):
        return importlib.import_module(f"nerve.{name}")
    if name == "summary":
        from nerve.nn.summary import summary

        return summary
    raise AttributeError(f"module 'nerve' has no attribute {name!r}")
