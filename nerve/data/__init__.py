"""Datasets, samplers and the DataLoader, with PyTorch's names and semantics.

``nerve.data`` is ``torch.utils.data``: ``from nerve.data import DataLoader, TensorDataset``;
``nerve.data.transforms`` holds the augmentations (``torchvision.transforms``' role).
"""

from nerve.data import transforms
from nerve.data.collate import default_collate, default_convert
from nerve.data.dataloader import DataLoader
from nerve.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nerve.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "random_split",
    "transforms",
]
