"""Joint search of network and patch plan (MCUNetV2 sec. 3.3): TinyNAS evolution with the grid and the split as genes.

A genome is (arch, grid, split): `grid` is n x m patches or None (no patches), `split` the number of MBConv blocks
in the patch stage (0 = the stem alone). Its memory is the exact arena of that plan: tinycore.patch builds the
patch program of the int8 graph shape (tinycore.nas.cost.graph_shape) and tinycore.memory.patch_plan plans it,
refined as `tinycore.patch.search.evaluate_plan` does, so the figure is the one `analyze --patch` reports and the
generated C declares. A genome is rejected (never scored, never returned) when the plan cannot be honoured (the
grid does not fit the split tensor, the split lies outside the space's patch stages), when its halos cost more
than the MAC-overhead cap, when the patches do not shrink the arena, or when it is over budget; it is never run
unpatched instead. Plans and scores are cached (a score depends on the arch only). Torch-free; the caller's
score function may use torch.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from tinycore.budget import Budget
from tinycore.errors import BudgetError, TinycoreError
from tinycore.ir.graph import Graph
from tinycore.memory import plan_graph
from tinycore.memory.patch_plan import plan_patch_program
from tinycore.nas.cost import graph_shape
from tinycore.nas.evolution import EvolutionConfig
from tinycore.nas.patch_space import patch_stage_blocks
from tinycore.nas.space import Arch, SearchSpace
from tinycore.nas.stage1 import arch_cost
from tinycore.patch.plan import PatchPlan
from tinycore.patch.program import INPUT_MODES, build_program

Grid = tuple[int, int] | None


@dataclass(frozen=True)
class JointConfig:
    grids: tuple[Grid, ...] = (None, (2, 2), (3, 3), (4, 4))  # None: run the whole frame (no patches)
    split_blocks: tuple[int, ...] | None = None  # None: 0 .. the blocks of the patch stages (see split_choices)
    input_mode: str = "frame"                    # how the patched arena holds the input (tinycore.patch modes)
    max_mac_overhead_pct: float = 20.0           # halo recomputation cap, as tinycore.patch's plan search
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    stage1_samples: int = 16                     # stage 1 subnets per (W, R) when it costs them patched (slower)

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise TinycoreError(f"joint search: input_mode {self.input_mode!r}: use one of {', '.join(INPUT_MODES)}")
        if not self.grids or any(g is not None and (len(g) != 2 or min(g) < 1) for g in self.grids):
            raise TinycoreError(f"joint search: grids must be (rows, cols) >= 1 or None, got {self.grids!r}")


@dataclass(frozen=True)
class JointCost:
    plan: PatchPlan | None
    arena_bytes: int          # patched arena in the input mode (the unpatched one when plan is None)
    arena_bytes_no_patch: int
    flash_bytes: int
    macs: int                 # the network's MACs
    patched_macs: int         # with the halo recomputation
    mac_overhead_pct: float


@dataclass(frozen=True)
class JointCandidate:
    arch: Arch
    grid: Grid
    split_blocks: int
    cost: JointCost
    score: float
    generation: int

    @property
    def patch(self) -> str:
        """The plan in --patch form ('3x3@op7'), or 'none'."""
        return "none" if self.cost.plan is None else str(self.cost.plan)

    def to_dict(self) -> dict[str, Any]:
        c = asdict(self.cost)
        c["plan"] = self.patch
        return {"arch": self.arch.to_dict(), "summary": self.arch.short(), "grid": self.grid,
                "split_blocks": self.split_blocks, "patch": self.patch, "score": self.score,
                "generation": self.generation, **c}


@dataclass(frozen=True)
class JointResult:
    best: JointCandidate
    candidates: tuple[JointCandidate, ...]  # every scored genome, in scoring order
    history: tuple[dict[str, Any], ...]     # per generation: generation, best_score, mean_score, n_new
    rejected: dict[str, int]                # reason ("over budget", "plan cannot be honoured", ...) -> tries


def split_choices(space: SearchSpace, cfg: JointConfig) -> tuple[int, ...]:
    """Split gene values: the config's, else 0 .. the most blocks the patch stages can hold (the first two
    stages when the space declares no patch stages)."""
    if cfg.split_blocks is not None:
        return tuple(cfg.split_blocks)
    n = space.patch_stages or min(2, len(space.stages))
    return tuple(range(sum(space.max_depths()[:n]) + 1))


def split_op(graph: Graph, blocks: int) -> int:
    """Index of the last op of the stem (blocks = 0) or of MBConv block `blocks - 1` in the graph shape."""
    prefix = "stem." if blocks == 0 else f"blocks.{blocks - 1}."
    found = [i for i, op in enumerate(graph.ops) if op.name.startswith(prefix)]
    if not found:
        raise TinycoreError(f"joint search: the graph has no op of '{prefix.rstrip('.')}'")
    return found[-1]


class Rejected(Exception):
    """A genome that cannot be a candidate; the message is the reason (counted in JointResult.rejected)."""


class JointCostModel:
    """Exact memory of genomes, cached by (arch, grid, split): one graph shape per arch, one program per plan."""

    def __init__(self, space: SearchSpace, cfg: JointConfig) -> None:
        self.space, self.cfg = space, cfg
        self._graphs: dict[tuple, tuple[Graph, int]] = {}
        self._costs: dict[tuple, JointCost | str] = {}

    def graph(self, arch: Arch) -> tuple[Graph, int]:
        k = arch.key()
        if k not in self._graphs:
            g = graph_shape(self.space.to_spec(arch, name=self.space.name))
            self._graphs[k] = (g, plan_graph(g).arena_bytes)
        return self._graphs[k]

    def __call__(self, arch: Arch, grid: Grid, split_blocks: int) -> JointCost:
        key = (arch.key(), grid, split_blocks if grid is not None else 0)
        if key not in self._costs:
            try:
                self._costs[key] = self._compute(arch, grid, split_blocks)
            except Rejected as e:
                self._costs[key] = str(e)
        c = self._costs[key]
        if isinstance(c, str):
            raise Rejected(c)
        return c

    def smallest(self, arch: Arch, fits_below: int | None = None) -> JointCost:
        """The plan (among the config's grids and splits, no patches included) with the smallest arena, ties to the
        smaller MAC overhead: stage 1's cost of `arch` when patches widen what fits.

        With `fits_below` (stage 1 only asks whether a subnet fits): the first plan whose arena is at most that many
        bytes (no patches first, then the latest split, the fewest patches), else the smallest: it stops early."""
        splits = sorted(split_choices(self.space, self.cfg), reverse=True)
        order = [(None, 0)] * (None in self.cfg.grids) + [(g, k) for k in splits for g in self.cfg.grids
                                                           if g is not None]
        return self._first_fit(arch, order, -1 if fits_below is None else fits_below)

    def _first_fit(self, arch: Arch, order: list[tuple[Grid, int]], limit: int) -> JointCost:
        """The first plan in `order` within `limit` bytes, else the smallest (ties: smaller MAC overhead)."""
        best: JointCost | None = None
        for grid, k in order:
            try:
                c = self(arch, grid, k)
            except Rejected:
                continue
            if c.arena_bytes <= limit:
                return c
            if best is None or (c.arena_bytes, c.mac_overhead_pct) < (best.arena_bytes, best.mac_overhead_pct):
                best = c
        if best is None:
            raise BudgetError(f"joint search: no plan of {arch.short()} can be honoured with grids {self.cfg.grids}")
        return best

    def _program(self, arch: Arch, grid: tuple[int, int], split_blocks: int):
        """(patch program, unpatched cost, unpatched arena) of a plan, or Rejected before any arena planning."""
        base = arch_cost(self.space, arch)
        graph, no_patch = self.graph(arch)
        if self.space.patch_stages and split_blocks > patch_stage_blocks(self.space, arch):
            raise Rejected("split after the space's patch stages")
        if split_blocks > sum(arch.depths):
            raise Rejected("split after the last block")
        plan = PatchPlan((split_op(graph, split_blocks),), *grid)
        try:
            prog = build_program(graph, plan, self.cfg.input_mode)
        except TinycoreError as e:
            raise Rejected(f"plan cannot be honoured: {e}") from None
        if prog.mac_overhead_pct > self.cfg.max_mac_overhead_pct:
            raise Rejected("MAC overhead over the cap")
        return prog, base, no_patch

    def _compute(self, arch: Arch, grid: Grid, split_blocks: int) -> JointCost:
        if grid is None:
            base = arch_cost(self.space, arch)
            no_patch = self.graph(arch)[1]
            return JointCost(None, no_patch, no_patch, base.flash_bytes, base.macs, base.macs, 0.0)
        prog, base, no_patch = self._program(arch, grid, split_blocks)
        overhead = prog.mac_overhead_pct
        arena = plan_patch_program(prog, refine=True).arena_bytes
        if arena >= no_patch:
            raise Rejected("patches do not shrink the arena")
        return JointCost(prog.plan, arena, no_patch, base.flash_bytes, base.macs,
                         int(round(base.macs * (1 + overhead / 100))), round(overhead, 3))


Genome = tuple[Arch, Grid, int]


class _JointSearch:
    def __init__(self, space: SearchSpace, width: float, resolution: int, budget: Budget, cfg: JointConfig,
                 rng: np.random.Generator, cost: JointCostModel) -> None:
        self.space, self.width, self.resolution, self.budget, self.cfg, self.rng, self.cost = \
            space, width, resolution, budget, cfg, rng, cost
        self.splits = split_choices(space, cfg)
        self.rejected: Counter[str] = Counter()
        self.nearest: tuple[float, Genome, JointCost] | None = None

    def fits(self, g: Genome) -> JointCost | None:
        try:
            c = self.cost(*g)
        except Rejected as e:
            self.rejected[str(e).split(":")[0]] += 1  # counted by kind; the message names the op
            return None
        if self.budget.fits(c.arena_bytes, c.flash_bytes, c.patched_macs):
            return c
        self.rejected["over budget"] += 1
        over = max(c.arena_bytes / self.budget.sram_bytes, c.flash_bytes / self.budget.flash_bytes,
                   c.patched_macs / self.budget.macs if self.budget.macs else 0.0)
        if self.nearest is None or over < self.nearest[0]:
            self.nearest = (over, g, c)
        return None

    def _first_fit(self, make: Callable[[], Genome], what: str) -> tuple[Genome, JointCost]:
        for _ in range(self.cfg.evolution.max_tries):
            g = make()
            c = self.fits(g)
            if c is not None:
                return g, c
        near = ""
        if self.nearest is not None:
            _, (arch, grid, k), c = self.nearest
            plan = "none" if c.plan is None else str(c.plan)
            over = "; ".join(self.budget.overruns(c.arena_bytes, c.flash_bytes, c.patched_macs))
            near = (f"; nearest {arch.short()} with patches {plan} needs arena {c.arena_bytes:,} B, Flash "
                    f"{c.flash_bytes:,} B ({over})")
        raise BudgetError(
            f"joint search: {what} found no network + patch plan within budget after "
            f"{self.cfg.evolution.max_tries} tries at W{self.width:g} R{self.resolution}{near}; rejected: "
            f"{dict(self.rejected)}. Try a larger --sram/--flash, more grids, or a smaller width/resolution.")

    def _pick(self, current, choices):
        if self.rng.random() < self.cfg.evolution.mutation_prob:
            return choices[int(self.rng.integers(len(choices)))]
        return current

    def random(self) -> tuple[Genome, JointCost]:
        def make() -> Genome:
            arch = self.space.sample(self.rng, self.width, self.resolution)
            grid = self.cfg.grids[int(self.rng.integers(len(self.cfg.grids)))]
            return arch, grid, int(self.splits[int(self.rng.integers(len(self.splits)))])
        return self._first_fit(make, "random sampling")

    def mutate(self, parent: Genome) -> tuple[Genome, JointCost]:
        arch, grid, k = parent

        def make() -> Genome:
            depths = tuple(self._pick(d, st.depths) for d, st in zip(arch.depths, self.space.stages))
            kernels = tuple(tuple(self._pick(x, self.space.stage_kernels(s)) for x in ks)
                            for s, ks in enumerate(arch.kernels))
            expands = tuple(tuple(self._pick(e, self.space.expands) for e in es) for es in arch.expands)
            return (Arch(arch.width, arch.resolution, depths, kernels, expands), self._pick(grid, self.cfg.grids),
                    int(self._pick(k, self.splits)))
        return self._first_fit(make, "mutation")

    def crossover(self, a: Genome, b: Genome) -> tuple[Genome, JointCost]:
        def mix(x, y):
            return x if self.rng.random() < 0.5 else y

        def make() -> Genome:
            (xa, ga, ka), (xb, gb, kb) = a, b
            arch = Arch(xa.width, xa.resolution, tuple(mix(p, q) for p, q in zip(xa.depths, xb.depths)),
                        tuple(tuple(mix(p, q) for p, q in zip(u, v)) for u, v in zip(xa.kernels, xb.kernels)),
                        tuple(tuple(mix(p, q) for p, q in zip(u, v)) for u, v in zip(xa.expands, xb.expands)))
            return arch, mix(ga, gb), mix(ka, kb)
        return self._first_fit(make, "crossover")


def joint_evolve(space: SearchSpace, width: float, resolution: int, budget: Budget, score: Callable[[Arch], float],
                 cfg: JointConfig, rng: np.random.Generator, cost: JointCostModel | None = None,
                 progress: bool = False) -> JointResult:
    """Evolve (arch, grid, split) at (width, resolution) maximizing `score(arch)` with the exact patched arena
    within `budget`. Ties in score go to the smaller arena, then the smaller MAC overhead."""
    cost = cost or JointCostModel(space, cfg)
    s = _JointSearch(space, float(width), int(resolution), budget, cfg, rng, cost)
    ecfg = cfg.evolution
    scores: dict[tuple, float] = {}
    seen: dict[tuple, JointCandidate] = {}
    order: list[JointCandidate] = []
    history: list[dict[str, Any]] = []

    def rank(c: JointCandidate) -> tuple:
        return (c.score, -c.cost.arena_bytes, -c.cost.mac_overhead_pct)

    def evaluate(genome: Genome, c: JointCost, generation: int, new: list) -> JointCandidate:
        arch, grid, k = genome
        gk = (arch.key(), grid, k if grid is not None else 0)
        if gk not in seen:
            if arch.key() not in scores:
                scores[arch.key()] = float(score(arch))
            cand = JointCandidate(arch, grid, k if grid is not None else 0, c, scores[arch.key()], generation)
            seen[gk] = cand
            order.append(cand)
            new.append(cand)
        return seen[gk]

    population: list[JointCandidate] = []
    for g in range(ecfg.generations):
        new: list[JointCandidate] = []
        if g == 0:
            population = [evaluate(*s.random(), 0, new) for _ in range(ecfg.population)]
        else:
            n_parents = max(1, int(round(ecfg.parents_share * ecfg.population)))
            parents = sorted(population, key=rank, reverse=True)[:n_parents]
            genomes = [(p.arch, p.grid, p.split_blocks) for p in parents]
            children = [evaluate(*s.mutate(genomes[int(rng.integers(len(genomes)))]), g, new)
                        for _ in range(int(round(ecfg.mutation_share * ecfg.population)))]
            while len(parents) + len(children) < ecfg.population:
                i, j = rng.integers(len(genomes), size=2)
                children.append(evaluate(*s.crossover(genomes[int(i)], genomes[int(j)]), g, new))
            population = parents + children
        best = max(population, key=rank)
        history.append({"generation": g, "best_score": best.score,
                        "mean_score": float(np.mean([c.score for c in population])), "n_new": len(new)})
        if progress:
            print(f"joint generation {g + 1}/{ecfg.generations}: best {best.score:.4f} ({best.arch.short()}, "
                  f"patch {best.patch}, arena {best.cost.arena_bytes:,} B), {len(new)} new", file=sys.stderr)
    return JointResult(max(order, key=rank), tuple(order), tuple(history), dict(s.rejected))
