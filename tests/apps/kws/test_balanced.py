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


def test_spec_augment_masks_one_time_run_and_one_coefficient_run_seeded():
    from apps.kws.augment import spec_augment

    x = torch.randn(16, 49, 10)
    torch.manual_seed(0)
    a = spec_augment(x, max_frames=8, max_coeffs=2)
    torch.manual_seed(0)
    assert torch.equal(a, spec_augment(x, max_frames=8, max_coeffs=2))
    for i in range(16):
        changed = a[i] != x[i]
        rows, cols = changed.all(dim=1).sum(), changed.all(dim=0).sum()
        assert rows <= 8 and cols <= 2 and changed.sum() <= 8 * 10 + 2 * 49
    assert (a != x).any()
