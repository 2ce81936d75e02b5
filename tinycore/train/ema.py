"""An exponential moving average (EMA) of a model's weights, the model that validation scores and export reads.

Averaging the weights of the last few hundred optimizer steps lands nearer the middle of the loss valley than
the last step does (Polyak averaging; the "shadow" weights of TF's ExponentialMovingAverage): noisier training
(per-batch noise, speed and VTLP draws) gives steadier validation figures, and often a point more on held-out data.
Batch-norm running statistics are averaged like the weights, integer buffers (batch counters) copied.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class WeightEMA:
    """shadow = d * shadow + (1 - d) * weights after every step, with d = min(decay, (1 + n) / (10 + n)) at the
    n-th update (TF's num_updates warm-up), so the average forgets its random start within the first epoch."""

    def __init__(self, model: nn.Module, decay: float, updates: int = 0) -> None:
        self.decay, self.updates = decay, updates
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        shadow = self.model.state_dict()
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                shadow[k].mul_(d).add_(v.detach(), alpha=1.0 - d)
            else:
                shadow[k].copy_(v)
        self.updates += 1

    def state_dict(self) -> dict:
        """What a checkpoint keeps to resume the average: the shadow weights and the update count."""
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
