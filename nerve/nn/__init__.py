"""``nerve.nn``: layers, losses and initializers built on nerve's autograd."""

from nerve.nn import (
    functional,  # noqa: F401
    init,  # noqa: F401,E402
    utils,  # noqa: F401,E402
)
from nerve.nn.activation import (  # noqa: F401,E402
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from nerve.nn.attention import MultiheadAttention  # noqa: F401,E402
from nerve.nn.container import Identity, ModuleDict, ModuleList, Residual, Sequential  # noqa: F401
from nerve.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401,E402
from nerve.nn.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401,E402
from nerve.nn.embedding import Embedding  # noqa: F401,E402
from nerve.nn.flatten import Flatten, Unflatten  # noqa: F401,E402
from nerve.nn.linear import Bilinear, Linear  # noqa: F401,E402
from nerve.nn.loss import (  # noqa: F401,E402
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)
from nerve.nn.module import Module  # noqa: F401
from nerve.nn.normalization import (  # noqa: F401,E402
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    LayerNorm,
    RMSNorm,
)
from nerve.nn.parameter import Buffer, Parameter  # noqa: F401
from nerve.nn.pooling import (  # noqa: F401,E402
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from nerve.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from nerve.nn.transformer import (  # noqa: F401,E402
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from nerve.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401,E402
