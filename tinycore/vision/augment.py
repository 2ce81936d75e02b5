"""Photometric train-time augmentation shared by the image apps: the same scene under other light."""
from __future__ import annotations

import torch


def relight(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> each image's contrast x U(0.8, 1.2) about its mean, + U(-0.08, 0.08), clipped."""
    b = x.shape[0]
    contrast = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=generator)
    bright = 0.16 * torch.rand(b, 1, 1, 1, generator=generator) - 0.08
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + bright).clamp(0, 1)
