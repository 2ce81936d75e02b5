"""Search-space evolution driving a real (tiny) supernet: scores, trains in the new space, logs, and a restarted
run reloads the trained supernet from its checkpoint instead of training again."""
import numpy as np
import torch

from tinycore.budget import Budget
from tinycore.former import FormerSpace, SpaceEvolutionConfig, SpaceGrid, ViTChoices, evolve_space
from tinycore.former.driver import SpaceSupernet
from tinycore.nas.train_supernet import SupernetConfig

CHOICES = ViTChoices(dims=(8, 16), depths=(1,), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=16, classes=2)
GRID = SpaceGrid(rank_ratios=(0.25, 0.5), token_counts=(16, 64))


def test_space_evolution_with_a_supernet(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, 16, 16, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long()
    cfg = SupernetConfig(epochs=1, lr=1e-2, batch_size=32, n_random=1, calib_batches=1)
    budget = Budget(1800, 1 << 20)
    evo = SpaceEvolutionConfig(grid=GRID, gamma=1.0, k=3, threshold=0.0, epochs_per_step=1, max_steps=1)
    start = FormerSpace(0.5, 64)
    drv = SpaceSupernet(CHOICES, start, (x, y), (x, y), cfg, budget, tmp_path / "sn", n_subnets=2, n_fit=3)
    res = evolve_space(start, drv.score, drv.train, evo, log_path=tmp_path / "log.jsonl")
    assert len(res.scores) == 3 and all(0 <= s.fit_fraction <= 1 and 0 <= s.accuracy <= 1 for s in res.scores)
    fits = {s.space.tokens: s.fit_fraction for s in res.scores}
    assert fits[16] > fits[64]  # 64 tokens need more arena than 16 here
    assert len(res.path) == 2  # 16 tokens fit far better: it moves, and trains one epoch in the new space
    assert drv.epochs == 1 and (tmp_path / "sn" / f"{res.chosen.short()}_e1" / "supernet.pt").exists()
    # a restarted run with one more step reloads that supernet and scores at epoch 1 without retraining e1
    drv2 = SpaceSupernet(CHOICES, start, (x, y), (x, y), cfg, budget, tmp_path / "sn", n_subnets=2, n_fit=3)
    evo2 = SpaceEvolutionConfig(**{**evo.__dict__, "max_steps": 2})
    res2 = evolve_space(start, drv2.score, drv2.train, evo2, log_path=tmp_path / "log.jsonl")
    assert res2.path[:2] == res.path and any(s.epochs == 1 for s in res2.scores)
    assert res2.stop_reason == "edge" and drv2.epochs == 1  # loaded from the e1 checkpoint, nothing trained again
