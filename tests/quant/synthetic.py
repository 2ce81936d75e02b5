"""Synthetic 10-class images for quantization tests: a bar at one of 10 orientations (18 degrees apart), random
position, length, brightness and noise. Small enough to train a CNN in seconds, hard enough to need real features."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


def oriented_bars(n: int, seed: int, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 1, size, size) float images and (n,) labels in 0..9."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n, 1, size, size), np.float32)
    for i, k in enumerate(labels):
        theta = k * np.pi / 10 + rng.normal(0, 0.03)
        cy, cx = size / 2 + rng.uniform(-2, 2, 2)
        dy, dx = np.sin(theta), np.cos(theta)
        along = (yy - cy) * dy + (xx - cx) * dx
        across = -(yy - cy) * dx + (xx - cx) * dy
        half = rng.uniform(4, 7)
        bar = np.exp(-0.5 * (across / 0.8) ** 2) * (np.abs(along) < half)
        images[i, 0] = rng.uniform(0.6, 1.4) * bar + rng.normal(0, 0.25, (size, size))
    return torch.from_numpy(images), torch.from_numpy(labels)


class SmallCnn(nn.Module):
    """Conv-BN-ReLU stages, a residual block, global pooling and a classifier: the common MCU ops."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(16, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU6())
        self.block = nn.Sequential(nn.Conv2d(24, 24, 3, 1, 1, groups=24, bias=False), nn.BatchNorm2d(24),
                                   nn.ReLU6(), nn.Conv2d(24, 24, 1, bias=False), nn.BatchNorm2d(24))
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Conv2d(24, 32, 3, 1, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(0.1), nn.Linear(32, classes))

    def forward(self, x):
        y = self.down(self.stem(x))
        y = y + self.block(y)
        return self.head(self.pool(y))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int = 0) -> nn.Module:
    """Adam, batch 64, one thread (small batches run slower on shared cores with more threads)."""
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(len(x))
            for i in range(0, len(x), 64):
                idx = perm[i:i + 64]
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()
