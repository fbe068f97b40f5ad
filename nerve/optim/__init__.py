"""``nerve.optim``: optimizers that update parameters from their gradients, and LR schedules."""

from nerve.optim import lr_scheduler  # noqa: F401
from nerve.optim.adagrad import Adagrad  # noqa: F401
from nerve.optim.adam import Adam  # noqa: F401
from nerve.optim.adamw import AdamW  # noqa: F401
from nerve.optim.optimizer import Optimizer  # noqa: F401
from nerve.optim.rmsprop import RMSprop  # noqa: F401
from nerve.optim.sgd import SGD  # noqa: F401
