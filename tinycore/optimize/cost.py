"""The exact memory of a candidate for the evolution, with patch-based inference (MCUNetV2, tinycore.patch) where
the first stage is the peak: a candidate whose whole-graph arena exceeds the SRAM limit (by at most
`PATCH_REACH` times, MCUNetV2's reported reduction) but whose Flash fits gets the best patch plan of its graph
(`best_patch_plan`, input frame in the arena); with it, its arena is the patched one. The plans found are kept by
genome so the trained candidate is exported and run with the same plan."""
from __future__ import annotations

import math

from tinycore.budget import Budget
from tinycore.nas.cost import SubnetCost, graph_shape, subnet_cost
from tinycore.optimize.space import Genome, UserSpace

PATCH_REACH = 4
INPUT_MODE = "frame"
_TOO_BIG = SubnetCost(2**62, 2**62, 2**62, 0)


class CandidateCost:
    """cost(genome) -> SubnetCost for `evolve`; `plans[genome.key()]` is the patch plan text of patched ones."""

    def __init__(self, space: UserSpace, budget: Budget, patches: bool = True) -> None:
        self.space, self.budget, self.patches = space, budget, patches
        self.figures: dict[tuple, object] = {}
        self.plans: dict[tuple, str] = {}

    def __call__(self, g: Genome) -> SubnetCost:
        if not self.space.is_valid(g):
            return _TOO_BIG
        spec = self.space.to_spec(g)
        c = subnet_cost(spec)
        b = self.budget
        if (not self.patches or c.arena_bytes <= b.sram_bytes or c.flash_bytes > b.flash_bytes
                or c.arena_bytes > PATCH_REACH * b.sram_bytes):
            return c
        k = g.key()
        if k not in self.figures:
            from tinycore.patch.search import best_patch_plan

            self.figures[k] = best_patch_plan(graph_shape(spec), input_mode=INPUT_MODE)
        f = self.figures[k]
        if f.plan is None or f.arena_bytes > b.sram_bytes:
            return c
        self.plans[k] = str(f.plan)
        return SubnetCost(f.arena_bytes, c.flash_bytes, c.macs, c.params)


def search_score(c: SubnetCost) -> float:
    """log10(MACs x params): MCUNet's argument that in one space the subnets spending more of the budget are the
    more accurate, applied to both budgets. MACs alone filled a MACs limit with pixels and early width and left Flash
    unspent (inspect full case under 50 M MACs: R196 at 113 KB of 144 KB), where more late-stage parameters at 128 px
    distil to 90.4 % int8 (README)."""
    return math.log10(max(1, c.macs)) + math.log10(max(1, c.params))
