"""Search-space evolution: the step rule finds a known optimum on a synthetic score surface, resumes from its log
without re-scoring or re-training, refuses a log written with other settings, and imports no torch."""
import ast
import json
from pathlib import Path

import pytest

from tinycore.errors import TinycoreError
from tinycore.former import (FormerSpace, SpaceEvolutionConfig, SpaceGrid, SpaceScore, evolve_space, fit_trend,
                             step_decision)
from tinycore.former.plots import plot_space_evolution

GRID = SpaceGrid(rank_ratios=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), token_counts=(16, 25, 36, 49, 64, 81, 100))
OPT = (4, 2)  # grid index of the optimum: ratio 0.5, 36 tokens


class Surface:
    """Concave synthetic surface with its maximum at OPT; accuracy rises with epochs (same for every space), so
    only equal-epoch comparisons are meaningful. Counts calls."""

    def __init__(self):
        self.scored, self.trained = [], []

    def score(self, space, epochs):
        i, j = GRID.index(space)
        self.scored.append((space, epochs))
        acc = 0.9 - 0.02 * (i - OPT[0]) ** 2 - 0.01 * (j - OPT[1]) ** 2 + 0.05 * epochs
        fit = 1.0 if space.tokens <= 49 else 0.5
        return acc, fit

    def train(self, space, epochs):
        self.trained.append((space, epochs))


CFG = SpaceEvolutionConfig(grid=GRID, gamma=0.1, k=5, threshold=1e-3, epochs_per_step=2, max_steps=20)


def test_finds_known_optimum_from_a_corner():
    s = Surface()
    res = evolve_space(FormerSpace(0.1, 100), s.score, s.train, CFG)
    assert res.stop_reason == "converged"
    assert GRID.index(res.chosen) == OPT
    assert len(res.path) - 1 == len(s.trained)  # one training per move, e more epochs each
    assert res.epochs == 2 * len(s.trained)
    assert all(e == 2 for _, e in s.trained)
    # each move is one grid step per factor
    for a, b in zip(res.path, res.path[1:]):
        (i0, j0), (i1, j1) = GRID.index(a), GRID.index(b)
        assert abs(i1 - i0) <= 1 and abs(j1 - j0) <= 1 and (i0, j0) != (i1, j1)


def test_fit_uses_only_equal_epochs():
    sp = FormerSpace(0.3, 36)
    # at epoch 0 the score rises with the ratio; at epoch 4 (other points) it falls: only epoch-0 points count
    scores = [SpaceScore(FormerSpace(r, t), 0, 0.0, 0.0, r) for r in (0.2, 0.3, 0.4) for t in (25, 36, 49)]
    scores += [SpaceScore(FormerSpace(r, 36), 4, 0.0, 0.0, -10 * r) for r in (0.2, 0.4)]
    tr = fit_trend(scores, sp, 0, GRID, k=5)
    assert tr.n_points == 5
    assert tr.slope_ratio == pytest.approx(0.1)
    assert tr.slope_tokens == pytest.approx(0.0, abs=1e-12)
    assert step_decision(tr, 0.05) == (1, 0)
    assert step_decision(tr, 0.2) == (0, 0)  # below the threshold: stay


def test_threshold_stops_on_a_flat_enough_surface():
    s = Surface()
    cfg = SpaceEvolutionConfig(grid=GRID, gamma=0.0, k=5, threshold=1.0, epochs_per_step=1, max_steps=5)
    res = evolve_space(FormerSpace(0.1, 100), s.score, s.train, cfg)
    assert res.stop_reason == "converged" and res.path == [FormerSpace(0.1, 100)] and not s.trained


def test_resume_continues_without_rescoring(tmp_path: Path):
    log = tmp_path / "space_evolution.jsonl"
    full = evolve_space(FormerSpace(0.1, 100), Surface().score, Surface().train, CFG)
    s1 = Surface()
    part = evolve_space(FormerSpace(0.1, 100), s1.score, s1.train,
                        SpaceEvolutionConfig(**{**CFG.__dict__, "max_steps": 2}), log_path=log)
    assert part.stop_reason == "budget" and len(part.path) == 3
    s2 = Surface()
    res = evolve_space(FormerSpace(0.1, 100), s2.score, s2.train, CFG, log_path=log)
    assert res.chosen == full.chosen and res.path == full.path and res.epochs == full.epochs
    assert not set(s1.scored) & set(s2.scored)  # nothing scored twice
    assert len(s1.scored) + len(s2.scored) == len(full.scores)
    assert len(s1.trained) + len(s2.trained) == len(full.path) - 1
    # a converged log resumes to the same answer with no work at all
    s3 = Surface()
    again = evolve_space(FormerSpace(0.1, 100), s3.score, s3.train, CFG, log_path=log)
    assert again.chosen == full.chosen and not s3.scored and not s3.trained
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds[0] == "start" and kinds.count("train") == len(full.path) - 1
    png = plot_space_evolution(res, GRID, tmp_path / "evolution.png")
    assert png.stat().st_size > 1000


def test_resume_trains_a_logged_move_whose_training_did_not_finish(tmp_path: Path):
    log = tmp_path / "log.jsonl"
    s1 = Surface()
    evolve_space(FormerSpace(0.1, 100), s1.score, s1.train,
                 SpaceEvolutionConfig(**{**CFG.__dict__, "max_steps": 1}), log_path=log)
    lines = log.read_text().splitlines()
    assert json.loads(lines[-1])["kind"] == "train"
    log.write_text("\n".join(lines[:-1]) + "\n")  # crash during training
    s2 = Surface()
    res = evolve_space(FormerSpace(0.1, 100), s2.score, s2.train, CFG, log_path=log)
    assert s2.trained[0] == (s1.trained[0][0], 2) and GRID.index(res.chosen) == OPT


def test_refuses_a_log_with_other_settings(tmp_path: Path):
    log = tmp_path / "log.jsonl"
    evolve_space(FormerSpace(0.1, 100), Surface().score, Surface().train, CFG, log_path=log)
    with pytest.raises(TinycoreError, match="other settings"):
        evolve_space(FormerSpace(0.1, 100), Surface().score, Surface().train,
                     SpaceEvolutionConfig(**{**CFG.__dict__, "gamma": 0.5}), log_path=log)


def test_off_grid_start_is_refused():
    with pytest.raises(TinycoreError, match="not on the grid"):
        evolve_space(FormerSpace(0.15, 100), Surface().score, Surface().train, CFG)


def test_module_imports_no_torch():
    src = Path(__file__).parents[2] / "tinycore" / "former" / "space_evolution.py"
    names = [a.name for n in ast.walk(ast.parse(src.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom))
             for a in getattr(n, "names", [])] + [n.module for n in ast.walk(ast.parse(src.read_text()))
                                                   if isinstance(n, ast.ImportFrom) and n.module]
    assert not any("torch" in (x or "") for x in names)
