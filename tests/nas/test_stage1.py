"""Stage 1 on a tiny grid, the budget grid, and the error for a budget nothing can meet."""
import json

import numpy as np
import pytest

from tinycore.budget import Budget
from tinycore.errors import BudgetError
from tinycore.nas import budget_grid, format_grid, format_table, optimize_space, subnet_cost
from tinycore.nas.plots import plot_stage1_cdf
from tinycore.nas.stage1 import sample_all
from tests.nas.problems import tiny_space

BUDGET = Budget(6 * 1024, 24 * 1024)


def test_stage1_rows_and_choice_follow_the_stated_rule(tmp_path):
    space = tiny_space()
    res = optimize_space(space, BUDGET, 40, np.random.default_rng(0), min_fit_share=0.2)
    assert [(r.width, r.resolution) for r in res.rows] == [(0.5, 16), (0.5, 20), (1.0, 16), (1.0, 20)]
    for row, s in zip(res.rows, res.samples):
        fits = [a <= BUDGET.sram_bytes and f <= BUDGET.flash_bytes
                for a, f in zip(s.arena_bytes, s.flash_bytes)]
        assert row.n_samples == 40 and row.n_fit == sum(fits)
        fit_macs = [m for m, ok in zip(s.macs, fits) if ok]
        assert row.mean_macs_fit == pytest.approx(np.mean(fit_macs) if fit_macs else 0.0)
        # the smallest subnet is always sampled, with its exact cost
        small = subnet_cost(space.to_spec(space.smallest(s.width, s.resolution), name=space.name))
        assert (s.arena_bytes[0], s.flash_bytes[0]) == (small.arena_bytes, small.flash_bytes)
    eligible = [r for r in res.rows if r.fit_share >= 0.2]
    assert eligible, "tiny grid should have a space where a fifth of the subnets fit"
    best = max(eligible, key=lambda r: r.mean_macs_fit)
    assert (res.width, res.resolution) == (best.width, best.resolution) and not res.fallback
    assert "chosen" in format_table(res.rows, (res.width, res.resolution))
    png = plot_stage1_cdf(res, tmp_path / "cdf.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = type(res).from_dict(json.loads(json.dumps(res.to_dict())))
    assert back == res


def test_budget_grid_matches_stage1_per_budget():
    space = tiny_space()
    srams, flashes = [3 * 1024, 6 * 1024, 16 * 1024], [16 * 1024, 64 * 1024]
    grid = budget_grid(space, srams, flashes, 30, np.random.default_rng(5))
    samples = sample_all(space, 30, np.random.default_rng(5))
    assert len(grid) == 6
    for cell in grid:
        budget = Budget(cell["sram_bytes"], cell["flash_bytes"])
        if cell["width"] is None:
            with pytest.raises(BudgetError):
                optimize_space(space, budget, 30, None, samples=samples)
        else:
            res = optimize_space(space, budget, 30, None, samples=samples)
            assert (cell["width"], cell["resolution"]) == (res.width, res.resolution)
    assert grid[0]["width"] is None  # 3 KB is below the smallest subnet's 4,224 B arena
    assert "W" in format_grid(grid)


def test_impossible_budget_names_the_smallest_sram_and_flash():
    space = tiny_space()
    smallest = [subnet_cost(space.to_spec(space.smallest(w, r), name=space.name))
                for w in space.widths for r in space.resolutions]
    min_arena = min(c.arena_bytes for c in smallest)
    min_flash = min(c.flash_bytes for c in smallest)
    with pytest.raises(BudgetError) as e:
        optimize_space(space, Budget(min_arena - 4, 1024 * 1024), 20, np.random.default_rng(0))
    msg = str(e.value)
    assert f"smallest achievable SRAM is {min_arena:,} B" in msg and f"Flash is {min_flash:,} B" in msg
    assert (min_arena, min_flash) == (4224, 5656)  # tests/nas/test_cost.py explains 4,224 B
