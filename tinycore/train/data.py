"""Turn what apps pass (a DataLoader or (x, y) tensors) into loaders with reproducible per-epoch shuffling."""
from __future__ import annotations

from typing import Union

import torch
from torch.utils.data import (DataLoader, Dataset, DistributedSampler, IterableDataset, RandomSampler, TensorDataset,
                              WeightedRandomSampler)

from tinycore.train.config import TrainError
from tinycore.train.distributed import DistContext

Data = Union[DataLoader, tuple[torch.Tensor, torch.Tensor]]


def as_dataset(data: Data, what: str) -> tuple[Dataset, DataLoader | None]:
    """The dataset behind `data`, and the DataLoader it came in (None for tensors)."""
    if isinstance(data, DataLoader):
        return data.dataset, data
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = data
        if len(x) != len(y):
            raise TrainError(f"train: {what} has {len(x)} inputs but {len(y)} targets")
        if len(x) == 0:
            raise TrainError(f"train: {what} is empty")
        return TensorDataset(x, y), None
    raise TrainError(f"train: {what} must be a torch DataLoader or an (x, y) pair of tensors, "
                     f"got {type(data).__name__}")


class EpochLoader:
    """Training batches whose order depends only on (seed, epoch), so a resumed run replays the same batches.

    Under DDP each rank reads its DistributedSampler shard (equal batch counts on every rank). A loader whose
    sampler is a WeightedRandomSampler (class-balanced sampling) keeps its weights, drawn from the same seeded
    generator; under DDP the shards are uniform (weights not applied).
    """

    def __init__(self, data: Data, batch_size: int, seed: int, ctx: DistContext) -> None:
        dataset, loader = as_dataset(data, "train_data")
        self.seed = seed
        self.sampler: DistributedSampler | RandomSampler | WeightedRandomSampler | None = None
        self.generator = torch.Generator()
        if loader is not None and isinstance(dataset, IterableDataset):
            self.loader = loader  # its order is its own; resumes are not replayed exactly
            return
        bs = loader.batch_size if loader is not None and loader.batch_size is not None else batch_size
        weighted = loader.sampler if loader is not None and isinstance(loader.sampler, WeightedRandomSampler) else None
        if ctx.enabled:
            self.sampler = DistributedSampler(dataset, ctx.world_size, ctx.rank, shuffle=True, seed=seed)
        elif weighted is not None:
            self.sampler = WeightedRandomSampler(weighted.weights, weighted.num_samples, weighted.replacement,
                                                 generator=self.generator)
        else:
            self.sampler = RandomSampler(dataset, generator=self.generator)
        kwargs = {}
        if loader is not None:
            kwargs = dict(collate_fn=loader.collate_fn, num_workers=loader.num_workers, drop_last=loader.drop_last,
                          pin_memory=loader.pin_memory)
        self.loader = DataLoader(dataset, batch_size=bs, sampler=self.sampler, **kwargs)

    def epoch(self, epoch: int) -> DataLoader:
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(epoch)
        self.generator.manual_seed(self.seed * 1_000_003 + epoch)
        return self.loader

    def __len__(self) -> int:
        return len(self.loader)


def eval_loader(data: Data, batch_size: int) -> DataLoader:
    """Validation batches in order; every rank evaluates the whole set, so all ranks agree on early stopping."""
    dataset, loader = as_dataset(data, "val_data")
    return loader if loader is not None else DataLoader(dataset, batch_size=batch_size, shuffle=False)
