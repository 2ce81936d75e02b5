"""Subnet search in the chosen former space: TinyNAS's evolution (tinycore.nas.evolution) over ViT subnets, every
candidate checked against SRAM (exact int8 arena), Flash and MACs limits from the int8 graph before it is scored.
The score (e.g. the supernet accuracy of the subnet) comes from the caller; the RNG is passed in."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from tinycore.budget import Budget
from tinycore.former.cost import vit_cost
from tinycore.former.space import FormerSubnetSpace, ViTArch, ViTChoices
from tinycore.former.space_evolution import FormerSpace
from tinycore.nas.cost import SubnetCost
from tinycore.nas.evolution import EvolutionConfig, EvolutionResult, evolve
from tinycore.spec.layers import ModelSpec


def search_subnet(choices: ViTChoices, space: FormerSpace, budget: Budget, score: Callable[[ViTArch], float],
                  cfg: EvolutionConfig, rng: np.random.Generator, log_path: Path | None = None,
                  cost: Callable[[ModelSpec], SubnetCost] = vit_cost, progress: bool = False) -> EvolutionResult:
    """The best-scoring subnet of `space` within `budget` (resumable through `log_path`, as TinyNAS's search)."""
    subnets = FormerSubnetSpace(choices, space)
    return evolve(subnets, space.rank_ratio, space.tokens, budget, score, cfg, rng, log_path=log_path,
                  cost=lambda arch: cost(subnets.to_spec(arch)), progress=progress)
