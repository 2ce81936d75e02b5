"""MCUFormer search-space evolution: move the (low-rank ratio, token count) of a ViT search space. Torch-free.

A space is fixed by its low-rank ratio and token count, each a choice on an ordered grid. Its score is the supernet's
accuracy in that space plus gamma times the fraction of sampled subnets whose exact int8 arena fits the SRAM limit.
The trend of the score is a least-squares plane over the k nearest explored spaces (grid-step distance) that were
scored after the same number of supernet epochs; slopes are in score units per grid step. A factor moves one step
towards its rising side when its slope passes the threshold. After a move the supernet trains `epochs_per_step` more
epochs in the new space (from its resume point, which the caller's training keeps). The search stops when no factor
moves (converged), when a move would leave the grid, or after `max_steps` moves.

The space and its grid neighbours are scored at each step's epoch count, so every fit has points on both axes.

Resumable: every event (score, move, train) is one JSON line in `log_path`; a later call with the same settings
replays the log and continues without scoring or training anything twice.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tinycore.errors import TinycoreError


@dataclass(frozen=True)
class SpaceGrid:
    """The choices of each factor, in increasing order."""
    rank_ratios: tuple[float, ...]
    token_counts: tuple[int, ...]

    def __post_init__(self) -> None:
        for name, vals in (("rank_ratios", self.rank_ratios), ("token_counts", self.token_counts)):
            if len(vals) < 1 or list(vals) != sorted(set(vals)):
                raise TinycoreError(f"space grid: {name} must be strictly increasing and non-empty, got {vals}")

    def index(self, space: "FormerSpace") -> tuple[int, int]:
        """Grid position (ratio index, token index) of a space; raises if it is not on the grid."""
        try:
            return self.rank_ratios.index(space.rank_ratio), self.token_counts.index(space.tokens)
        except ValueError:
            raise TinycoreError(f"space grid: {space} is not on the grid {self}") from None

    def at(self, i: int, j: int) -> "FormerSpace | None":
        """The space at grid position (i, j), or None off the grid."""
        if 0 <= i < len(self.rank_ratios) and 0 <= j < len(self.token_counts):
            return FormerSpace(self.rank_ratios[i], self.token_counts[j])
        return None

    def neighbours(self, space: "FormerSpace") -> list["FormerSpace"]:
        """Spaces one step away along one factor (2 to 4 of them)."""
        i, j = self.index(space)
        cand = [self.at(i - 1, j), self.at(i + 1, j), self.at(i, j - 1), self.at(i, j + 1)]
        return [s for s in cand if s is not None]


@dataclass(frozen=True)
class FormerSpace:
    rank_ratio: float  # low-rank factor of the MLP linears (rank = ratio * min(in, out))
    tokens: int        # token count after patch embedding (sets the patch size for a given input)

    def short(self) -> str:
        return f"r{self.rank_ratio:g}-t{self.tokens}"


@dataclass(frozen=True)
class SpaceScore:
    space: FormerSpace
    epochs: int          # supernet epochs trained when this score was taken
    accuracy: float      # supernet accuracy in the space (e.g. mean over sampled subnets)
    fit_fraction: float  # share of sampled subnets whose exact int8 arena fits the SRAM limit
    score: float         # accuracy + gamma * fit_fraction


@dataclass(frozen=True)
class SpaceEvolutionConfig:
    grid: SpaceGrid
    gamma: float = 1.0           # weight of the fitting fraction in the score
    k: int = 5                   # nearest explored spaces with equal epochs in each fit (5 in the paper)
    threshold: float = 0.0       # |slope| (score per grid step) a factor needs to move
    epochs_per_step: int = 1     # supernet epochs trained in a new space after a move (e)
    max_steps: int = 10          # budget of moves

    def __post_init__(self) -> None:
        if self.k < 3 or self.epochs_per_step < 0 or self.max_steps < 0 or self.threshold < 0:
            raise TinycoreError(f"space evolution: need k >= 3, epochs_per_step/max_steps/threshold >= 0, got "
                                f"k={self.k} e={self.epochs_per_step} max_steps={self.max_steps} "
                                f"threshold={self.threshold}")


@dataclass(frozen=True)
class Trend:
    slope_ratio: float   # score change per rank-ratio grid step (0 when the points do not vary on that axis)
    slope_tokens: float  # score change per token-count grid step
    n_points: int


def space_score(accuracy: float, fit_fraction: float, gamma: float) -> float:
    """The paper's space score: accuracy + gamma * fraction of subnets that fit."""
    return float(accuracy) + float(gamma) * float(fit_fraction)


def fit_trend(scores: Sequence[SpaceScore], at: FormerSpace, epochs: int, grid: SpaceGrid, k: int) -> Trend:
    """Least-squares plane score ~ c + a*i + b*j over the k spaces nearest to `at` scored after `epochs` epochs.

    Distances and slopes are in grid steps, so the two factors weigh alike whatever their units. An axis on which
    the chosen points do not vary gets slope 0 (nothing known, so no move along it)."""
    ci, cj = grid.index(at)
    latest: dict[FormerSpace, SpaceScore] = {}
    for s in scores:
        if s.epochs == epochs:
            latest[s.space] = s
    if not latest:
        raise TinycoreError(f"space evolution: no space scored after {epochs} epochs to fit a trend at {at.short()}")

    def dist(s: SpaceScore) -> tuple[float, int, int]:
        i, j = grid.index(s.space)
        return (float(np.hypot(i - ci, j - cj)), i, j)

    near = sorted(latest.values(), key=dist)[:k]
    ij = np.array([grid.index(s.space) for s in near], dtype=np.float64)
    y = np.array([s.score for s in near], dtype=np.float64)
    cols = [np.ones(len(near))]
    varying = [bool(np.ptp(ij[:, a]) > 0) for a in (0, 1)]
    for a in (0, 1):
        if varying[a]:
            cols.append(ij[:, a])
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1), y, rcond=None)
    slopes, c = [0.0, 0.0], 1
    for a in (0, 1):
        if varying[a]:
            slopes[a] = float(coef[c])
            c += 1
    return Trend(slopes[0], slopes[1], len(near))


def step_decision(trend: Trend, threshold: float) -> tuple[int, int]:
    """Grid move (d_ratio, d_tokens), each in {-1, 0, 1}: a factor steps towards its rising side when |slope| >
    threshold."""
    def one(slope: float) -> int:
        return 0 if abs(slope) <= threshold else (1 if slope > 0 else -1)
    return one(trend.slope_ratio), one(trend.slope_tokens)


ScoreFn = Callable[[FormerSpace, int], tuple[float, float]]  # (space, epochs) -> (accuracy, fit_fraction)
TrainFn = Callable[[FormerSpace, int], None]                 # (space, epochs to add) -> None


@dataclass
class SpaceEvolutionResult:
    chosen: FormerSpace
    epochs: int
    stop_reason: str                       # "converged", "edge" or "budget"
    scores: list[SpaceScore] = field(default_factory=list)
    path: list[FormerSpace] = field(default_factory=list)  # visited spaces, start first
    steps: list[dict] = field(default_factory=list)         # per move decision: space, epochs, slopes, move


def _space_from(d: dict) -> FormerSpace:
    return FormerSpace(float(d["rank_ratio"]), int(d["tokens"]))


class _Log:
    """Append-only JSON-lines event log (None path: memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[dict] = []
        if self.path is not None and self.path.exists():
            for n, line in enumerate(self.path.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        self.events.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise TinycoreError(f"space evolution log {self.path}:{n}: not JSON ({e})") from None

    def add(self, event: dict) -> None:
        self.events.append(event)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(event) + "\n")


def evolve_space(start: FormerSpace, score_fn: ScoreFn, train_fn: TrainFn, cfg: SpaceEvolutionConfig,
                 start_epochs: int = 0, log_path: Path | None = None) -> SpaceEvolutionResult:
    """Run (or resume from `log_path`) the search-space evolution from `start`, whose supernet has trained
    `start_epochs` epochs."""
    grid = cfg.grid
    grid.index(start)
    log = _Log(log_path)
    head = {"kind": "start", "space": asdict(start), "epochs": start_epochs, "gamma": cfg.gamma, "k": cfg.k,
            "threshold": cfg.threshold, "epochs_per_step": cfg.epochs_per_step, "grid": asdict(grid)}
    if log.events and {k: v for k, v in log.events[0].items() if k != "max_steps"} != json.loads(json.dumps(head)):
        raise TinycoreError(f"space evolution log {log_path}: written with other settings "
                            f"({log.events[0]} != {head}); use a new log")
    if not log.events:
        log.add({**head, "max_steps": cfg.max_steps})

    res = SpaceEvolutionResult(start, start_epochs, "budget", path=[start])
    pending_train: FormerSpace | None = None
    for ev in log.events[1:]:
        if ev["kind"] == "score":
            res.scores.append(SpaceScore(_space_from(ev["space"]), int(ev["epochs"]), float(ev["accuracy"]),
                                         float(ev["fit_fraction"]), float(ev["score"])))
        elif ev["kind"] == "step":
            res.steps.append(ev)
            if ev["to"] is not None and ev["to"] != ev["space"]:
                pending_train = _space_from(ev["to"])
        elif ev["kind"] == "train":
            res.chosen, res.epochs, pending_train = _space_from(ev["space"]), int(ev["epochs"]), None
            res.path.append(res.chosen)

    while True:
        if pending_train is not None:  # a logged move whose training did not finish: train (the caller resumes)
            train_fn(pending_train, cfg.epochs_per_step)
            res.chosen, res.epochs = pending_train, res.epochs + cfg.epochs_per_step
            res.path.append(res.chosen)
            log.add({"kind": "train", "space": asdict(res.chosen), "epochs": res.epochs})
            pending_train = None
        if res.steps and res.steps[-1]["stop"] is not None:
            res.stop_reason = res.steps[-1]["stop"]
            return res
        moves = sum(1 for s in res.steps if s["to"] is not None and s["to"] != s["space"])
        if moves >= cfg.max_steps:
            res.stop_reason = "budget"
            return res
        have = {s.space for s in res.scores if s.epochs == res.epochs}
        for sp in [res.chosen, *grid.neighbours(res.chosen)]:
            if sp not in have:
                acc, fit = score_fn(sp, res.epochs)
                sc = SpaceScore(sp, res.epochs, float(acc), float(fit), space_score(acc, fit, cfg.gamma))
                res.scores.append(sc)
                log.add({"kind": "score", **asdict(sc)})
        trend = fit_trend(res.scores, res.chosen, res.epochs, grid, cfg.k)
        di, dj = step_decision(trend, cfg.threshold)
        i, j = grid.index(res.chosen)
        # a step off the grid is clipped; nothing left to move means converged (or stuck at the edge)
        ni = min(max(i + di, 0), len(grid.rank_ratios) - 1)
        nj = min(max(j + dj, 0), len(grid.token_counts) - 1)
        to = grid.at(ni, nj)
        stop = None
        if (ni, nj) == (i, j):
            stop = "converged" if (di, dj) == (0, 0) else "edge"
        step = {"kind": "step", "space": asdict(res.chosen), "epochs": res.epochs, "slope_ratio": trend.slope_ratio,
                "slope_tokens": trend.slope_tokens, "n_points": trend.n_points, "move": [di, dj],
                "to": asdict(to) if to is not None else None, "stop": stop}
        log.add(step)
        res.steps.append(step)
        if stop is None:
            pending_train = to
