"""Glue between the search-space evolution (torch-free) and the supernet: the score and train callbacks.

Scoring a space: a supernet in that space inherits the current weights (tinycore.former.supernet.inherit_weights),
its accuracy is the mean over `n_subnets` sampled subnets (the largest and smallest among them), and the fitting
fraction comes from the exact int8 arenas of `n_fit` sampled subnets. Training a space: the same inheritance, then
the shared sandwich trainer for e epochs into `out_dir/<space>_e<epochs after>` (its checkpoint is the resume
point; a restarted run reloads the last finished one instead of training again).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinycore.budget import Budget
from tinycore.former.cost import fit_fraction
from tinycore.former.space import ViTChoices
from tinycore.former.space_evolution import FormerSpace
from tinycore.former.supernet import FormerSupernet, inherit_weights
from tinycore.nas.train_supernet import CHECKPOINT_NAME, SupernetConfig, score_subnet, train_supernet


class SpaceSupernet:
    def __init__(self, choices: ViTChoices, start: FormerSpace, train: Any, val: tuple[torch.Tensor, torch.Tensor],
                 cfg: SupernetConfig, budget: Budget, out_dir: Path, n_subnets: int = 4, n_fit: int = 8,
                 seed: int = 0) -> None:
        self.choices, self.train_data, self.val, self.cfg, self.budget = choices, train, val, cfg, budget
        self.out_dir, self.n_subnets, self.n_fit, self.seed = Path(out_dir), n_subnets, n_fit, seed
        torch.manual_seed(seed)
        self.net, self.epochs = FormerSupernet(choices, start), 0

    def _dir(self, space: FormerSpace, epochs: int) -> Path:
        return self.out_dir / f"{space.short()}_e{epochs}"

    def at(self, space: FormerSpace) -> FormerSupernet:
        """A supernet in `space` holding the current weights (the scoring and subnet-search view)."""
        net = FormerSupernet(self.choices, space)
        inherit_weights(net, self.net)
        return net

    def sync(self, epochs: int) -> None:
        """After a restart, load the supernet the log says was trained last (epochs > what this process holds)."""
        if epochs == self.epochs:
            return
        found = sorted(self.out_dir.glob(f"*_e{epochs}/{CHECKPOINT_NAME}"))
        if len(found) != 1:
            raise FileNotFoundError(f"former search: expected one supernet checkpoint after {epochs} epochs in "
                                    f"{self.out_dir}, found {len(found)}")
        ck = torch.load(found[0], map_location="cpu", weights_only=False)
        ratio, tokens = found[0].parent.name.rsplit("_e", 1)[0].split("-t")
        self.net = FormerSupernet(self.choices, FormerSpace(float(ratio[1:]), int(tokens)))
        self.net.load_state_dict(ck["model"])
        self.epochs = epochs

    def score(self, space: FormerSpace, epochs: int) -> tuple[float, float]:
        self.sync(epochs)
        net = self.at(space)
        rng = np.random.default_rng([self.seed, epochs])
        sub = net.space
        archs = [sub.largest(), sub.smallest()] + [sub.sample(rng) for _ in range(max(0, self.n_subnets - 2))]
        calib = [self.val[0][:self.cfg.batch_size]]
        acc = float(np.mean([score_subnet(net, a, calib, self.val) for a in archs]))
        return acc, fit_fraction(space, self.choices, self.budget, self.n_fit, rng)

    def train(self, space: FormerSpace, epochs: int) -> None:
        net = self.at(space)
        train_supernet(net, self.train_data, self.val, replace(self.cfg, epochs=epochs),
                       out_dir=self._dir(space, self.epochs + epochs), progress=False)
        self.net, self.epochs = net, self.epochs + epochs
