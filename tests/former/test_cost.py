"""Exact int8 memory of ViT subnets in a former space: equals the plan of a quantize_vit graph (values do not
matter), and the fraction that fits moves with the SRAM limit and the token count as it must."""
import numpy as np
import pytest
import torch

from tinycore.budget import Budget
from tinycore.errors import SpecError
from tinycore.former import FormerSpace
from tinycore.former.cost import fit_fraction, vit_cost
from tinycore.former.space import ViTChoices
from tinycore.memory import flash_bytes, plan_graph
from tinycore.quant import quantize_vit
from tinycore.spec import build_model
from tinycore.spec.shapes import model_stats

CHOICES = ViTChoices(dims=(16, 32), depths=(1, 2), heads=(1, 2), mlp_ratios=(1.0, 2.0), resolution=16, classes=3)
SPACE = FormerSpace(0.5, 16)


def test_cost_is_the_plan_of_a_graph_with_other_weights():
    spec = CHOICES.to_spec(CHOICES.largest(), SPACE)
    torch.manual_seed(123)
    graph = quantize_vit(build_model(spec).eval(), 3 * torch.randn(2, 3, 16, 16), per_head=True)
    c = vit_cost(spec)
    assert (c.arena_bytes, c.flash_bytes) == (plan_graph(graph).arena_bytes, flash_bytes(graph))
    assert c.macs == model_stats(spec)["macs"] and c.params == model_stats(spec)["params"]


def test_fit_fraction_follows_the_limit_and_tokens():
    small = vit_cost(CHOICES.to_spec(CHOICES.smallest(), SPACE)).arena_bytes
    large = vit_cost(CHOICES.to_spec(CHOICES.largest(), SPACE)).arena_bytes
    assert small < large
    frac = lambda sram, space=SPACE: fit_fraction(space, CHOICES, Budget(sram, 1 << 30), 6,  # noqa: E731
                                                  np.random.default_rng(0))
    assert frac(small - 1) == 0.0
    assert frac(large) == 1.0
    mid = frac((small + large) // 2)
    assert 0.0 <= mid <= 1.0
    # 4x the tokens (2 px patches): attention and MLP activations grow, fewer subnets fit. (Not monotone at the
    # other end: with 4 tokens the 8 px patch conv needs more arena than with 16.)
    assert frac((small + large) // 2, FormerSpace(0.5, 64)) < mid


def test_tokens_must_tile_the_input():
    with pytest.raises(SpecError, match="tokens"):
        CHOICES.patch(FormerSpace(0.5, 9))  # 3x3 grid does not divide 16 px
    assert CHOICES.patch(FormerSpace(0.5, 64)) == 2


def test_subnet_spec_is_plain_and_round_trips():
    rng = np.random.default_rng(1)
    for _ in range(5):
        arch = CHOICES.sample(rng)
        spec = CHOICES.to_spec(arch, SPACE)
        assert type(spec).from_dict(spec.to_dict()) == spec
        assert len(spec.blocks) == len(arch.heads) and all(b.rank_ratio == 0.5 for b in spec.blocks)
        assert all(arch.dim % h == 0 for h in arch.heads)
