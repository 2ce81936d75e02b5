"""Torch modules of the ViT layers (MCUFormer, issue #14): patch embedding, class token, pre-norm block, pooling.

Tensors are (batch, T, D). Linear layers are `nn.Linear`, or `LowRankLinear` (V then U) when
`tinycore.spec.shapes.low_rank` factorizes them, so the built model has exactly the params `analyze` counts.
"""
from __future__ import annotations

import torch
from torch import nn

from tinycore.spec.layers import ClassToken, PatchEmbed, TokenPool, TransformerBlock
from tinycore.spec.shapes import Shape, conv_geometry, low_rank, mlp_hidden


class LowRankLinear(nn.Sequential):
    """W ~= U V: v (in -> r, no bias) then u (r -> out, with bias)."""

    def __init__(self, n_in: int, n_out: int, rank: int) -> None:
        super().__init__()
        self.add_module("v", nn.Linear(n_in, rank, bias=False))
        self.add_module("u", nn.Linear(rank, n_out))


def linear(n_in: int, n_out: int, rank_ratio: float) -> nn.Module:
    r = low_rank(n_in, n_out, rank_ratio)
    return nn.Linear(n_in, n_out) if r is None else LowRankLinear(n_in, n_out, r)


class PatchEmbedding(nn.Module):
    def __init__(self, layer: PatchEmbed, in_shape: Shape, where: str) -> None:
        super().__init__()
        g = conv_geometry(where, in_shape, layer.patch, layer.patch, "valid")
        self.proj = nn.Conv2d(in_shape[0], layer.dim, (g.kh, g.kw), (g.sh, g.sw))
        self.pos = nn.Parameter(torch.zeros(1, g.oh * g.ow, layer.dim)) if layer.pos_embed else None
        if self.pos is not None:
            nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x).flatten(2).transpose(1, 2)  # (B, D, h, w) -> (B, T, D), patches in row-major order
        return y if self.pos is None else y + self.pos


class ClassTokenModule(nn.Module):
    def __init__(self, dim: int, pos_embed: bool) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 1, dim)) if pos_embed else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        token = self.token if self.pos is None else self.token + self.pos
        return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)


class Attention(nn.Module):
    """Multi-head self-attention with separate q, k, v projections (each may be low-rank) and an output proj."""

    def __init__(self, dim: int, heads: int, rank_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.proj = (linear(dim, dim, rank_ratio) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        split = lambda y: y.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, layer: TransformerBlock, dim: int) -> None:
        super().__init__()
        hidden = mlp_hidden(dim, layer.mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, layer.heads, layer.rank_ratio)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(linear(dim, hidden, layer.rank_ratio), nn.GELU(),
                                 linear(hidden, dim, layer.rank_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TokenPooling(nn.Module):
    def __init__(self, mode: str, dim: int, norm: bool) -> None:
        super().__init__()
        self.mode = mode
        self.norm = nn.LayerNorm(dim) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return x.mean(dim=1) if self.mode == "mean" else x[:, 0]


def build_vit_layer(layer, in_shape: Shape, where: str) -> nn.Module:
    """The module of one ViT layer (shapes already validated by infer_layer)."""
    if isinstance(layer, PatchEmbed):
        return PatchEmbedding(layer, in_shape, where)
    if isinstance(layer, ClassToken):
        return ClassTokenModule(in_shape[1], layer.pos_embed)
    if isinstance(layer, TransformerBlock):
        return Block(layer, in_shape[1])
    if isinstance(layer, TokenPool):
        return TokenPooling(layer.mode, in_shape[1], layer.norm)
    raise AssertionError(f"not a ViT layer: {layer!r}")
