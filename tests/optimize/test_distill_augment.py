"""Candidates train on augmented images (tinycore/optimize/distill.py): only pixel inputs in [0, 1] are augmented,
and a distillation cut after an epoch and resumed ends with the same weights as one run straight through."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from tinycore.optimize.distill import DistillConfig, augments, train_data
from tinycore.optimize.teacher import kd_loss
from tinycore.train import accuracy, fit


def test_only_pixel_images_are_augmented():
    cfg = DistillConfig()
    pixels = np.random.default_rng(0).random((4, 3, 8, 8), dtype=np.float32)
    assert augments(pixels, cfg)
    assert not augments(pixels, DistillConfig(augment=False))
    assert not augments(pixels * 2 - 1, cfg)            # features scaled to [-1, 1]: a flip or relight may lie
    assert not augments(pixels[:, :, :, 0], cfg)        # not (N, C, H, W)
    x, t = torch.from_numpy(pixels), torch.zeros(4, 3)
    assert isinstance(train_data(x, t, cfg), DataLoader)
    assert train_data(x, t, DistillConfig(augment=False)) == (x, t)


def _student() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 2))


def test_resumed_augmented_distillation_equals_a_straight_run(tmp_path):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(24, 3, 10, 10, generator=g)
    targets = torch.cat([torch.randint(0, 2, (24, 1), generator=g).float(), torch.randn(24, 2, generator=g)], 1)
    val = (x[:8], targets[:8, 0].long())
    cfg = DistillConfig(batch_size=8)
    loss = kd_loss(cfg.distill_weight, cfg.temperature)

    def run(out, metric=accuracy) -> nn.Module:
        model = _student()
        fit(model, train_data(x, targets, cfg), val, epochs=3, lr=1e-2, loss=loss, metric=metric, batch_size=8,
            out_dir=out, progress=False, seed=0)
        return model

    def cut_after_one_epoch(out, y):  # validation of epoch 2 fails: the checkpoint holds epoch 1
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return accuracy(out, y)

    calls: list[int] = []
    straight = run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "cut", cut_after_one_epoch)
    resumed = run(tmp_path / "cut")  # the same call again finishes epochs 2 and 3
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
