"""Train-time augmentation for VWW: a person is a person mirrored, shifted a little, or under other light.

Per batch: horizontal flip (p 0.5), a shift of up to SHIFT_PX pixels each way (edge pixels repeated), and a
brightness / contrast change (x U(0.8, 1.2) about the image mean, + U(-0.08, 0.08)), clipped to [0, 1]. The
rendered set has 1,200 training images in --quick: without this, the default model overfits within 10 epochs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from tinycore.task import TaskData
from tinycore.vision.augment import relight

SHIFT_PX = 8


def augment_batch(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> the same shape, each image flipped / shifted / relit at random."""
    b, _, h, w = x.shape
    g = generator
    flip = torch.rand(b, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (SHIFT_PX,) * 4, mode="replicate")
    dy = torch.randint(0, 2 * SHIFT_PX + 1, (b,), generator=g).tolist()
    dx = torch.randint(0, 2 * SHIFT_PX + 1, (b,), generator=g).tolist()
    x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    return relight(x, g)


def _collate(batch):
    xs, ys = zip(*batch)
    return augment_batch(torch.stack(xs)), torch.stack(ys)


def augmented_train_loader(data: TaskData, batch_size: int, progress: bool = True) -> DataLoader:
    """The training split with augment_batch applied per batch (what tinycore.train.fit takes)."""
    x, y = data.train
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch_size, shuffle=True,
                      collate_fn=_collate)
