"""Subnet search in a former space: the TinyNAS evolution over ViT subnets never returns or scores a subnet over
the exact int8 SRAM/Flash/MACs limits, finds the best fitting one of a small space, and resumes from its log."""
import itertools

import numpy as np

from tinycore.budget import Budget
from tinycore.former import FormerSpace, ViTArch, ViTChoices
from tinycore.former.cost import vit_cost
from tinycore.former.search import search_subnet
from tinycore.former.space import FormerSubnetSpace
from tinycore.nas.evolution import EvolutionConfig

CHOICES = ViTChoices(dims=(8, 16), depths=(1, 2), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=16, classes=3)
SPACE = FormerSpace(0.5, 16)


def _all_archs():
    for dim, depth in itertools.product(CHOICES.dims, CHOICES.depths):
        for hs in itertools.product(CHOICES.heads_for(dim), repeat=depth):
            for ms in itertools.product(CHOICES.mlp_ratios, repeat=depth):
                yield ViTArch(dim, hs, ms)


def _params(arch):  # prefers big subnets, so the limits bind
    return float(vit_cost(CHOICES.to_spec(arch, SPACE)).params)


def test_search_respects_exact_limits_and_finds_the_best_fit(tmp_path):
    costs = {a: vit_cost(CHOICES.to_spec(a, SPACE)) for a in _all_archs()}
    sram = min(c.arena_bytes for c in costs.values())  # here the arena splits by dim only (input, patch conv)
    flash = sorted(c.flash_bytes for c in costs.values() if c.arena_bytes <= sram)
    budget = Budget(sram, flash[len(flash) // 2])  # both limits bind
    fitting = [a for a, c in costs.items() if budget.fits(c.arena_bytes, c.flash_bytes, c.macs)]
    assert 0 < len(fitting) < len(flash) < len(costs)
    cfg = EvolutionConfig(population=8, generations=4, mutation_prob=0.5)
    res = search_subnet(CHOICES, SPACE, budget, _params, cfg, np.random.default_rng(0), log_path=tmp_path / "s.jsonl")
    for c in res.candidates:
        exact = costs[c.arch]
        assert (c.arena_bytes, c.flash_bytes, c.macs) == (exact.arena_bytes, exact.flash_bytes, exact.macs)
        assert c.arena_bytes <= budget.sram_bytes and c.flash_bytes <= budget.flash_bytes
    assert res.best.score == max(_params(a) for a in fitting)  # 40 subnets: the evolution reaches the top
    again = search_subnet(CHOICES, SPACE, budget, lambda a: 1 / 0, cfg, np.random.default_rng(5),
                          log_path=tmp_path / "s.jsonl")  # resumed from the log: nothing rescored
    assert again.best == res.best and again.candidates == res.candidates


def test_mutation_and_crossover_stay_in_the_space():
    subnets = FormerSubnetSpace(CHOICES, SPACE)
    rng = np.random.default_rng(0)
    pick = lambda cur, ch: rng.choice(ch).item() if rng.random() < 0.5 else cur  # noqa: E731
    mix = lambda x, y: x if rng.random() < 0.5 else y  # noqa: E731
    archs = [subnets.sample(rng) for _ in range(6)]
    for _ in range(50):
        a = subnets.mutate(archs[int(rng.integers(6))], pick)
        b = subnets.crossover(archs[int(rng.integers(6))], a, mix)
        for x in (a, b):
            assert x.dim in CHOICES.dims
            assert len(x.heads) == len(x.mlp_ratios) and len(x.heads) in CHOICES.depths
            assert all(x.dim % h == 0 and h in CHOICES.heads for h in x.heads)
            assert all(m in CHOICES.mlp_ratios for m in x.mlp_ratios)
            assert ViTArch.from_dict(x.to_dict()) == x
        archs.append(b)
