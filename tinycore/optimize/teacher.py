"""The user's model as a distillation teacher whose outputs are computed once per train frame and kept.

The teacher is frozen (eval mode) and the optimize loop trains on fixed tensors (no augmentation), so every epoch of
every candidate at one input size would ask it the same question: at 224x224 that forward pass was a third of a
MobileNetV1 training step, paid each epoch. Here it is paid once per input size; the logits travel with the labels
as one packed target (label, logits...) that `kd_loss` unpacks, so the shared loop (`tinycore.train.fit`) and QAT
train on them unchanged.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tinycore.train.loop import distillation_loss

BATCH = 256  # frames per teacher forward pass


class ResizedTeacher(nn.Module):
    """The user's model reading an input of another size: resized to its own (H, W) first."""

    def __init__(self, teacher: nn.Module, hw: tuple[int, int]) -> None:
        super().__init__()
        self.teacher, self.hw = teacher, hw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.hw:
            x = F.interpolate(x, size=self.hw, mode="bilinear", align_corners=False)
        return self.teacher(x)


class TeacherOutputs:
    """Logits of the (resized) teacher on one run's train inputs, by input size: a candidate at 96x96 and one at
    128x128 see different pixels, two candidates at 96x96 the same ones. One object per data set."""

    def __init__(self, teacher: nn.Module, teacher_hw: tuple[int, int]) -> None:
        self.teacher = teacher
        self.model = ResizedTeacher(teacher, teacher_hw).eval()
        self._logits: dict[tuple[int, ...], torch.Tensor] = {}

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        key = (len(x), *x.shape[1:])
        if key not in self._logits:
            self._logits[key] = torch.cat([self.model(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])
        return self._logits[key]

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(N, 1 + K) float: the class index, then the teacher's K logits for x."""
        logits = self.logits(x)
        return torch.cat([y[:, None].to(logits.dtype), logits], dim=1)


def kd_loss(distill_weight: float, temperature: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Loss on packed targets: (1 - w) * cross-entropy + w * distillation_loss, the formula `fit` applies when it is
    given the teacher itself."""
    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        labels, logits = target[:, 0].long(), target[:, 1:]
        return ((1 - distill_weight) * F.cross_entropy(out, labels)
                + distill_weight * distillation_loss(out, logits, temperature))
    return loss
