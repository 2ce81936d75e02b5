"""Train-time augmentation shared by the image apps and `tinycore optimize`: the same scene mirrored, shifted a
little, or under other light. Inputs are (B, C, H, W) pixels in [0, 1], the layout every image loader here gives."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

SHIFT_PX = 8


def relight(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> each image's contrast x U(0.8, 1.2) about its mean, + U(-0.08, 0.08), clipped."""
    b = x.shape[0]
    contrast = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=generator)
    bright = 0.16 * torch.rand(b, 1, 1, 1, generator=generator) - 0.08
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + bright).clamp(0, 1)


def flip_shift_relight(x: torch.Tensor, generator: torch.Generator | None = None,
                       shift_px: int = SHIFT_PX) -> torch.Tensor:
    """Each image flipped left-right (p 0.5), shifted by up to shift_px pixels each way (edge pixels repeated), then
    relit (`relight`). Draws from `generator` (torch's global one when None)."""
    b, _, h, w = x.shape
    g = generator
    flip = torch.rand(b, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (shift_px,) * 4, mode="replicate")
    dy = torch.randint(0, 2 * shift_px + 1, (b,), generator=g).tolist()
    dx = torch.randint(0, 2 * shift_px + 1, (b,), generator=g).tolist()
    x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    return relight(x, g)


def _augment_collate(batch):
    xs, ys = zip(*batch)
    return flip_shift_relight(torch.stack(xs)), torch.stack(ys)


def augmented_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> DataLoader:
    """Batches of (x, y) with flip_shift_relight applied to x only: y may be labels or any per-sample target (a
    teacher's logits packed with the label). `tinycore.train.fit` takes it as train data, replaces its sampler by
    its own seeded one and reseeds torch per epoch, so the draws replay on a resumed run."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, collate_fn=_augment_collate)
