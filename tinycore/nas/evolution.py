"""Evolutionary search under SRAM, Flash and optional MACs limits (OFA/MCUNet style). Torch-free.

Generation 0 is `population` random subnets; each later generation keeps the best `parents_share` of the
population and fills it with mutations (each gene resampled with `mutation_prob`) and uniform crossovers of
random parents. Every candidate is checked against the exact int8 memory before it is scored, so nothing over
budget is ever scored or returned. The score (higher is better) comes from a caller's function; the RNG is a
numpy Generator passed in.

Resumable: each generation appends one JSON line to `log_path` (population, new candidates, best, RNG state);
a later call with the same settings continues after the last logged generation without re-scoring anything.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinycore.budget import Budget
from tinycore.errors import BudgetError, TinycoreError
from tinycore.nas.cost import SubnetCost
from tinycore.nas.space import Arch, SearchSpace
from tinycore.nas.stage1 import arch_cost


@dataclass(frozen=True)
class EvolutionConfig:
    population: int = 50
    generations: int = 20        # including generation 0 (the random population)
    parents_share: float = 0.25
    mutation_share: float = 0.5  # share of each new population made by mutation (the rest by crossover)
    mutation_prob: float = 0.1
    max_tries: int = 500         # random draws / mutations tried for one fitting candidate

    def __post_init__(self) -> None:
        if self.population < 2 or self.generations < 1:
            raise TinycoreError(f"evolution: population must be >= 2 and generations >= 1, got {self}")


@dataclass(frozen=True)
class Candidate:
    arch: Arch
    score: float
    arena_bytes: int
    flash_bytes: int
    macs: int
    generation: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arch"] = self.arch.to_dict()
        d["summary"] = self.arch.short()
        return d

    @staticmethod
    def from_dict(d: dict[str, Any], decode: Callable[[dict[str, Any]], Any] = Arch.from_dict) -> "Candidate":
        return Candidate(decode(d["arch"]), float(d["score"]), int(d["arena_bytes"]), int(d["flash_bytes"]),
                         int(d["macs"]), int(d["generation"]))


@dataclass(frozen=True)
class EvolutionResult:
    best: Candidate
    candidates: tuple[Candidate, ...]     # every scored candidate, in scoring order
    history: tuple[dict[str, Any], ...]   # per generation: generation, best_score, mean_score, n_new


ScoreFn = Callable[[Arch], float]
CostFn = Callable[[Arch], SubnetCost]


class _Search:
    def __init__(self, space: SearchSpace, width: float, resolution: int, budget: Budget, cfg: EvolutionConfig,
                 rng: np.random.Generator, cost: CostFn) -> None:
        self.space, self.width, self.resolution, self.budget, self.cfg, self.rng = \
            space, width, resolution, budget, cfg, rng
        self.cost = cost
        self.nearest: tuple[float, Arch, SubnetCost] | None = None

    def fits(self, arch: Arch) -> SubnetCost | None:
        c = self.cost(arch)
        if self.budget.fits(c.arena_bytes, c.flash_bytes, c.macs):
            return c
        over = max(c.arena_bytes / self.budget.sram_bytes, c.flash_bytes / self.budget.flash_bytes,
                   c.macs / self.budget.macs if self.budget.macs else 0.0)
        if self.nearest is None or over < self.nearest[0]:
            self.nearest = (over, arch, c)
        return None

    def fail(self, what: str) -> BudgetError:
        _, arch, c = self.nearest
        return BudgetError(
            f"evolution: {what} found no subnet within budget after {self.cfg.max_tries} tries at "
            f"W{self.width:g} R{self.resolution}; nearest {arch.short()} needs arena {c.arena_bytes:,} B, Flash "
            f"{c.flash_bytes:,} B, {c.macs:,} MACs ({'; '.join(self.budget.overruns(c.arena_bytes, c.flash_bytes, c.macs))})."
            f" Try a larger --sram/--flash or let stage 1 pick a smaller width/resolution.")

    def random(self) -> tuple[Arch, SubnetCost]:
        for _ in range(self.cfg.max_tries):
            arch = self.space.sample(self.rng, self.width, self.resolution)
            c = self.fits(arch)
            if c is not None:
                return arch, c
        raise self.fail("random sampling")

    def _pick(self, current: Any, choices: tuple) -> Any:
        return self.rng.choice(choices).item() if self.rng.random() < self.cfg.mutation_prob else current

    def mutate(self, parent: Arch) -> tuple[Arch, SubnetCost]:
        for _ in range(self.cfg.max_tries):
            c = self.fits(arch := self.space.mutate(parent, self._pick))
            if c is not None:
                return arch, c
        raise self.fail("mutation")

    def _mix(self, x: Any, y: Any) -> Any:
        return x if self.rng.random() < 0.5 else y

    def crossover(self, a: Arch, b: Arch) -> tuple[Arch, SubnetCost]:
        for _ in range(self.cfg.max_tries):
            c = self.fits(arch := self.space.crossover(a, b, self._mix))
            if c is not None:
                return arch, c
        raise self.fail("crossover")


def _read_log(path: Path, key: dict[str, Any]) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        try:
            d = json.loads(text)
        except json.JSONDecodeError:
            break  # a line cut by an interruption: resume before it
        if d.get("key") != key:
            print(f"{path}: logged for other settings; starting the evolution afresh", file=sys.stderr)
            return []
        lines.append(d)
    return lines


def evolve(space: SearchSpace, width: float, resolution: int, budget: Budget, score: ScoreFn,
           cfg: EvolutionConfig, rng: np.random.Generator, log_path: Path | None = None,
           cost: CostFn | None = None, progress: bool = False) -> EvolutionResult:
    """Search subnets of `space` at (width, resolution) maximizing `score` within `budget`."""
    cost = cost or (lambda a: arch_cost(space, a))
    s = _Search(space, float(width), int(resolution), budget, cfg, rng, cost)
    key = json.loads(json.dumps({  # as the log stores it (tuples become lists), so a resumed run compares equal
        "space": space.describe(), "width": float(width), "resolution": int(resolution), "budget": budget.to_dict(),
        "config": {k: v for k, v in asdict(cfg).items() if k != "generations"}}))  # more generations may follow
    lines = _read_log(Path(log_path), key) if log_path is not None else []
    lines = lines[:cfg.generations]
    scored: dict[tuple, Candidate] = {}
    order: list[Candidate] = []
    population: list[Candidate] = []
    history: list[dict[str, Any]] = []
    for d in lines:
        for c in (Candidate.from_dict(x, space.arch_from_dict) for x in d["new"]):
            scored[c.arch.key()] = c
            order.append(c)
        population = [Candidate.from_dict(c, space.arch_from_dict) for c in d["population"]]
        history.append({k: d[k] for k in ("generation", "best_score", "mean_score", "n_new")})
    if lines:
        rng.bit_generator.state = lines[-1]["rng_state"]
    if log_path is not None:  # rewrite what is kept only when a cut line or lines of other settings go
        path = Path(log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = "".join(json.dumps(d) + "\n" for d in lines)
        if not path.exists() or path.read_text() != kept:
            path.write_text(kept)

    def evaluate(arch: Arch, c: SubnetCost, generation: int, new: list[Candidate]) -> Candidate:
        k = arch.key()
        if k not in scored:
            cand = Candidate(arch, float(score(arch)), c.arena_bytes, c.flash_bytes, c.macs, generation)
            scored[k] = cand
            order.append(cand)
            new.append(cand)
        return scored[k]

    for g in range(len(lines), cfg.generations):
        new: list[Candidate] = []
        if g == 0:
            population = [evaluate(*s.random(), 0, new) for _ in range(cfg.population)]
        else:
            n_parents = max(1, int(round(cfg.parents_share * cfg.population)))
            parents = sorted(population, key=lambda c: -c.score)[:n_parents]
            n_mut = int(round(cfg.mutation_share * cfg.population))
            children = []
            for _ in range(n_mut):
                children.append(evaluate(*s.mutate(parents[int(rng.integers(len(parents)))].arch), g, new))
            while len(parents) + len(children) < cfg.population:
                i, j = rng.integers(len(parents), size=2)
                children.append(evaluate(*s.crossover(parents[int(i)].arch, parents[int(j)].arch), g, new))
            population = parents + children
        best = max(population, key=lambda c: c.score)
        rec = {"generation": g, "best_score": best.score,
               "mean_score": float(np.mean([c.score for c in population])), "n_new": len(new)}
        history.append(rec)
        if progress:
            print(f"generation {g + 1}/{cfg.generations}: best {best.score:.4f} ({best.arch.short()}, arena "
                  f"{best.arena_bytes:,} B, Flash {best.flash_bytes:,} B), {len(new)} new", file=sys.stderr)
        if log_path is not None:
            line = {**rec, "key": key, "best": best.to_dict(), "population": [c.to_dict() for c in population],
                    "new": [c.to_dict() for c in new], "rng_state": rng.bit_generator.state}
            with open(log_path, "a") as f:
                f.write(json.dumps(line) + "\n")
    best = max(order, key=lambda c: (c.score, -c.arena_bytes))
    return EvolutionResult(best, tuple(order), tuple(history))
