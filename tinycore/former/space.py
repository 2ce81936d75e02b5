"""ViT subnet choices inside one MCUFormer search space (low-rank ratio, token count) and their plain specs.

Elastic factors (AutoFormer style): embedding dim, depth, and per block heads and MLP ratio. The space fixes the
low-rank ratio of every linear and the token count, which with the input size sets the patch size. Subnets are
plain `ModelSpec`s (patch_embed without position embedding, transformer blocks, mean token_pool, fc): what
`tinycore.quant.quantize_vit` converts. Torch-free; the RNG is passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinycore.errors import SpecError
from tinycore.former.space_evolution import FormerSpace
from tinycore.spec.layers import FC, InputSpec, ModelSpec, PatchEmbed, TokenPool, TransformerBlock


@dataclass(frozen=True)
class ViTArch:
    dim: int
    heads: tuple[int, ...]         # one per block; len = depth
    mlp_ratios: tuple[float, ...]  # one per block

    def short(self) -> str:
        return f"d{self.dim}-l{len(self.heads)}-h{''.join(map(str, self.heads))}-m{'/'.join(f'{m:g}' for m in self.mlp_ratios)}"


@dataclass(frozen=True)
class ViTChoices:
    """Elastic choices of a ViT supernet, with its input and classes."""
    dims: tuple[int, ...] = (32, 48, 64)
    depths: tuple[int, ...] = (2, 3, 4)
    heads: tuple[int, ...] = (1, 2, 4)
    mlp_ratios: tuple[float, ...] = (1.0, 2.0, 3.0)
    resolution: int = 64
    in_channels: int = 3
    classes: int = 2

    def patch(self, space: FormerSpace) -> int:
        """Patch size giving `space.tokens` tokens on the square input; raises when tokens is not a square whose
        side divides the resolution."""
        side = math.isqrt(space.tokens)
        if side * side != space.tokens or self.resolution % side:
            raise SpecError(f"former space {space.short()}: {space.tokens} tokens need a square grid whose side "
                            f"divides the {self.resolution}px input")
        return self.resolution // side

    def heads_for(self, dim: int) -> tuple[int, ...]:
        h = tuple(x for x in self.heads if dim % x == 0)
        if not h:
            raise SpecError(f"former choices: no head count in {self.heads} divides embedding dim {dim}")
        return h

    def largest(self) -> ViTArch:
        d, n = max(self.dims), max(self.depths)
        return ViTArch(d, (max(self.heads_for(d)),) * n, (max(self.mlp_ratios),) * n)

    def smallest(self) -> ViTArch:
        d, n = min(self.dims), min(self.depths)
        return ViTArch(d, (min(self.heads_for(d)),) * n, (min(self.mlp_ratios),) * n)

    def sample(self, rng: np.random.Generator) -> ViTArch:
        dim = int(rng.choice(self.dims))
        depth = int(rng.choice(self.depths))
        hs = self.heads_for(dim)
        return ViTArch(dim, tuple(int(rng.choice(hs)) for _ in range(depth)),
                       tuple(float(rng.choice(self.mlp_ratios)) for _ in range(depth)))

    def to_spec(self, arch: ViTArch, space: FormerSpace, name: str = "") -> ModelSpec:
        """The subnet as a plain spec in `space`."""
        return ModelSpec(
            name=name or f"former_{space.short()}_{arch.short()}",
            input=InputSpec(channels=self.in_channels, height=self.resolution, width=self.resolution),
            stem=(PatchEmbed(arch.dim, patch=self.patch(space), pos_embed=False),),
            blocks=tuple(TransformerBlock(h, m, space.rank_ratio) for h, m in zip(arch.heads, arch.mlp_ratios)),
            head=(TokenPool("mean"), FC(self.classes)),
        )
