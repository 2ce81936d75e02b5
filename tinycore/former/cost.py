"""Exact int8 memory of a ViT subnet spec: arena and Flash of the graph `tinycore.quant.quantize_vit` writes.

No torch-free shape builder exists yet for ViTs (tinycore/nas/cost.py covers CNNs), so the spec is built with
random weights and converted on one random calibration input; arena and Flash depend only on shapes, not values.
Takes seconds per subnet, so results are cached by spec. `fit_fraction` is the space-score term of MCUFormer.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Callable

import numpy as np

from tinycore.budget import Budget
from tinycore.former.space import ViTChoices
from tinycore.former.space_evolution import FormerSpace
from tinycore.memory import flash_bytes, plan_graph
from tinycore.nas.cost import SubnetCost
from tinycore.spec.layers import ModelSpec
from tinycore.spec.shapes import model_stats


@lru_cache(maxsize=4096)
def _cost_of_json(spec_json: str, per_head: bool) -> SubnetCost:
    import torch

    from tinycore.quant import quantize_vit
    from tinycore.spec import build_model

    spec = ModelSpec.from_dict(json.loads(spec_json))
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model(spec).eval()
    c, h, w = spec.input.shape()
    graph = quantize_vit(model, torch.randn(1, c, h, w, generator=gen), per_head=per_head)
    stats = model_stats(spec)
    return SubnetCost(plan_graph(graph).arena_bytes, flash_bytes(graph), int(stats["macs"]), int(stats["params"]))


def vit_cost(spec: ModelSpec, per_head: bool = True) -> SubnetCost:
    """Arena (in-place planning), Flash, MACs and params of the int8 graph of a ViT spec; `per_head` as in
    quantize_vit (one attention head at a time: the smaller arena)."""
    return _cost_of_json(json.dumps(spec.to_dict(), sort_keys=True), per_head)


def fit_fraction(space: FormerSpace, choices: ViTChoices, budget: Budget, n: int, rng: np.random.Generator,
                 cost: Callable[[ModelSpec], SubnetCost] = vit_cost) -> float:
    """Share of `n` uniformly sampled subnets of the space whose exact int8 arena fits the SRAM limit."""
    fits = 0
    for _ in range(n):
        c = cost(choices.to_spec(choices.sample(rng), space))
        fits += c.arena_bytes <= budget.sram_bytes
    return fits / n
