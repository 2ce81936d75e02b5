"""ViT as data (MCUFormer, issue #14): shapes, params and MACs of the spec equal the built torch model."""
import pytest
import torch

from tinycore.spec import SpecError, analyze, build_model, model_stats, spec_from_json, spec_to_json
from tinycore.spec.zoo import deit_tiny, vit
from tinycore.spec.layers import InputSpec, ModelSpec, PatchEmbed, TransformerBlock

CONFIGS = [
    dict(),
    dict(rank_ratio=0.25, class_token=True),
    dict(height=48, patch=(8, 4), heads=4, mlp_ratio=3),  # rectangular input and patches
    dict(resolution=30, patch=7, dim=24, heads=3, depth=1),  # 30 / 7 leaves a remainder: 4 x 4 tokens
]


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_deit_tiny_has_the_reference_param_count():
    stats = model_stats(deit_tiny())
    assert stats["params"] == 5_717_416
    assert stats["shapes"][:2] == [(196, 192), (197, 192)]
    assert _params(build_model(deit_tiny())) == 5_717_416


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_built_model_matches_the_spec(cfg):
    spec = vit(**cfg)
    stats = model_stats(spec)
    model = build_model(spec)
    assert _params(model) == stats["params"]
    c, h, w = spec.input.shape()
    assert model(torch.zeros(2, c, h, w)).shape == (2, 2)
    assert spec_from_json(spec_to_json(spec)) == spec


def test_macs_and_low_rank_by_hand():
    # 32x32 RGB, 8x8 patches -> 16 tokens of 16; one block, 2 heads, MLP 2x (32), rank ratio 0.25 -> rank 4
    spec = vit(dim=16, depth=1, heads=2, patch=8, resolution=32, mlp_ratio=2, rank_ratio=0.25)
    infos = analyze(spec)
    embed, block = infos[0], infos[1]
    assert embed.out_shape == (16, 16) and embed.macs == 16 * (8 * 8 * 3) * 16
    assert embed.params == 8 * 8 * 3 * 16 + 16 + 16 * 16
    linears = 4 * 4 * (16 + 16) + 4 * (16 + 32) + 4 * (32 + 16)  # q k v proj, fc1, fc2 at rank 4
    assert block.macs == 16 * linears + 2 * 16 * 16 * 16
    assert block.params == linears + 4 * 16 + 32 + 16 + 4 * 16  # weights, biases, two LayerNorms


def test_low_rank_that_saves_nothing_stays_full():
    full = analyze(vit(dim=16, depth=1, mlp_ratio=1, rank_ratio=1.0))[1]
    high = analyze(vit(dim=16, depth=1, mlp_ratio=1, rank_ratio=0.6))[1]  # rank 10: 10 * 32 > 16 * 16
    assert high.params == full.params
    assert analyze(vit(dim=16, depth=1, mlp_ratio=1, rank_ratio=0.4))[1].params < full.params  # rank 6


def test_errors_name_the_layer():
    bad_heads = ModelSpec(InputSpec(3, 32, 32), stem=(PatchEmbed(18, 8),), blocks=(TransformerBlock(heads=4),))
    with pytest.raises(SpecError, match=r"blocks.0 \(transformer\): heads must be .* dividing the width 18"):
        analyze(bad_heads)
    no_tokens = ModelSpec(InputSpec(3, 32, 32), blocks=(TransformerBlock(),))
    with pytest.raises(SpecError, match="needs tokens"):
        analyze(no_tokens)
