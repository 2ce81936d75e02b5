"""Class-balanced training batches: each class equally likely, the draw replayed from (seed, epoch)."""
import numpy as np
import torch

from apps.kws.augment import balanced_sampler
from tinycore.train.data import EpochLoader
from tinycore.train.distributed import DistContext


def _labels_of(loader) -> np.ndarray:
    return torch.cat([y for _, y in loader]).numpy()


def test_balanced_sampler_through_the_epoch_loader():
    y = np.array([0] * 600 + [1] * 200 + [2] * 100)  # 6 : 2 : 1
    ds = torch.utils.data.TensorDataset(torch.zeros(len(y), 1), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(ds, batch_size=50, sampler=balanced_sampler(y))
    epochs = EpochLoader(loader, 50, seed=3, ctx=DistContext(1, 0, torch.device("cpu"), False))
    first = _labels_of(epochs.epoch(0))
    share = np.bincount(first, minlength=3) / len(first)
    assert len(first) == len(y) and np.all(np.abs(share - 1 / 3) < 0.05)  # not 0.67 / 0.22 / 0.11
    assert np.array_equal(first, _labels_of(epochs.epoch(0)))  # replayed
    assert not np.array_equal(first, _labels_of(epochs.epoch(1)))
