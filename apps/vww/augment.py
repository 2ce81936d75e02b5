"""Train-time augmentation for VWW: a person is a person mirrored, shifted a little, or under other light.

Per batch, `tinycore.vision.augment.flip_shift_relight`: horizontal flip (p 0.5), a shift of up to 8 pixels each way
(edge pixels repeated), and a brightness / contrast change, clipped to [0, 1]. The
rendered set has 1,200 training images in --quick: without this, the default model overfits within 10 epochs.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from tinycore.task import TaskData
from tinycore.vision.augment import augmented_loader


def augmented_train_loader(data: TaskData, batch_size: int, progress: bool = True) -> DataLoader:
    """The training split with flip_shift_relight applied per batch (what tinycore.train.fit takes)."""
    x, y = data.train
    return augmented_loader(torch.from_numpy(x), torch.from_numpy(y), batch_size)
