"""Mixup (Zhang et al. 2018) of training batches: a convex mix of two inputs is trained toward the same mix of
their losses, which smooths the decision boundaries between classes and often generalises better to unseen
conditions. Draws come from torch's global generator, which the training loop seeds per epoch (replayable)."""
from __future__ import annotations

from typing import Callable

import torch

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mix_batch(x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(lam * x + (1 - lam) * x[perm], perm, lam) with lam ~ Beta(alpha, alpha), folded to lam >= 0.5 so each
    mixed sample keeps its own input as the larger part."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    lam = max(lam, 1.0 - lam)
    perm = torch.randperm(len(x))
    return lam * x + (1.0 - lam) * x[perm], perm, lam


def mixed_loss(loss: LossFn, out: torch.Tensor, y: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    """The same mix of the loss against both targets (equal to the loss of mixed one-hot targets for
    cross-entropy)."""
    return lam * loss(out, y) + (1.0 - lam) * loss(out, y[perm.to(y.device)])
