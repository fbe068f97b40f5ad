"""Training end to end: ``Trainer`` (fit / evaluate / predict), callbacks, metrics, plots."""

from nerve.train import metrics  # noqa: F401
from nerve.train.callbacks import (  # noqa: F401
    Callback,
    CSVLogger,
    EarlyStopping,
    GradientMonitor,
    LRSchedulerCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from nerve.train.trainer import History, NonFiniteLossError, Trainer, TrainingInterrupted  # noqa: F401
