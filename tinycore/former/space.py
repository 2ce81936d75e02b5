"""ViT subnet choices inside one MCUFormer search space (low-rank ratio, token count) and their plain specs.

Elastic factors (AutoFormer style): embedding dim, depth, and per block heads and MLP ratio. The space fixes the
low-rank ratio of every linear and the token count, which with the input size sets the patch size. Subnets are
plain `ModelSpec`s (patch_embed, with a position embedding if chosen, transformer blocks, mean token_pool, fc):
what `tinycore.quant.quantize_vit` converts. Torch-free; the RNG is passed in.
"""
from __future__ import annotations

import math
import json
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from tinycore.errors import SpecError
from tinycore.former.space_evolution import FormerSpace
from tinycore.spec.layers import FC, InputSpec, ModelSpec, PatchEmbed, TokenPool, TransformerBlock


@dataclass(frozen=True)
class ViTArch:
    dim: int
    heads: tuple[int, ...]         # one per block; len = depth
    mlp_ratios: tuple[float, ...]  # one per block

    def key(self) -> tuple:
        return (self.dim, self.heads, self.mlp_ratios)

    def to_dict(self) -> dict:
        return {"dim": self.dim, "heads": list(self.heads), "mlp_ratios": list(self.mlp_ratios)}

    @staticmethod
    def from_dict(d: dict) -> "ViTArch":
        return ViTArch(int(d["dim"]), tuple(int(h) for h in d["heads"]), tuple(float(m) for m in d["mlp_ratios"]))

    def short(self) -> str:
        mlps = "/".join(f"{m:g}" for m in self.mlp_ratios)
        return f"d{self.dim}-l{len(self.heads)}-h{''.join(map(str, self.heads))}-m{mlps}"


@dataclass(frozen=True)
class ViTChoices:
    """Elastic choices of a ViT supernet, with its input and classes."""
    dims: tuple[int, ...] = (32, 48, 64)
    depths: tuple[int, ...] = (2, 3, 4)
    heads: tuple[int, ...] = (1, 2, 4)
    mlp_ratios: tuple[float, ...] = (1.0, 2.0, 3.0)
    resolution: int = 64           # input width (and height unless `height` is set)
    in_channels: int = 3
    classes: int = 2
    height: int = 0                # a rectangular input's height (0: square)
    strips: bool = False           # tokens are full-width strips of rows (a spectrogram's time steps)
    pos_embed: bool = False        # a learned position embedding (an int8 constant add in the graph)

    def patch(self, space: FormerSpace) -> int | tuple[int, int]:
        """Patch size giving `space.tokens` tokens: a square patch on a square grid that tiles the input, or
        with `strips` (ph, width) rows with H // ph == tokens (a remainder row is dropped, as the conv does);
        raises when no patch gives that many tokens."""
        if self.strips:
            h = self.height or self.resolution
            ph = h // space.tokens if space.tokens else 0
            if ph < 1 or h // ph != space.tokens:
                raise SpecError(f"former space {space.short()}: no strip height gives {space.tokens} tokens on "
                                f"{h} rows")
            return (ph, self.resolution)
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
            input=InputSpec(channels=self.in_channels, height=self.height or self.resolution, width=self.resolution),
            stem=(PatchEmbed(arch.dim, patch=self.patch(space), pos_embed=self.pos_embed),),
            blocks=tuple(TransformerBlock(h, m, space.rank_ratio) for h, m in zip(arch.heads, arch.mlp_ratios)),
            head=(TokenPool("mean"), FC(self.classes)),
        )


class FormerSubnetSpace:
    """The subnets of one former space, with the interface `tinycore.nas.evolution.evolve` and
    `tinycore.nas.train_supernet` use (their width/resolution arguments are this space's own and ignored)."""

    def __init__(self, choices: ViTChoices, space: FormerSpace) -> None:
        choices.patch(space)  # tokens must tile the input
        self.choices, self.former_space = choices, space

    def largest(self, *_: object) -> ViTArch:
        return self.choices.largest()

    def smallest(self, *_: object) -> ViTArch:
        return self.choices.smallest()

    def sample(self, rng: np.random.Generator, *_: object) -> ViTArch:
        return self.choices.sample(rng)

    def to_spec(self, arch: ViTArch, name: str = "") -> ModelSpec:
        return self.choices.to_spec(arch, self.former_space, name)

    def mutate(self, parent: ViTArch, pick: Callable[[Any, tuple], Any]) -> ViTArch:
        """Each gene through `pick(current, choices)`; blocks added by a deeper depth start from the last block,
        and a head count that no longer divides the dim is resampled."""
        c = self.choices
        dim = int(pick(parent.dim, c.dims))
        depth = int(pick(len(parent.heads), c.depths))
        hs = c.heads_for(dim)
        heads, mlps = [], []
        for j in range(depth):
            h = parent.heads[min(j, len(parent.heads) - 1)]
            heads.append(int(pick(h if h in hs else max(hs), hs)))
            mlps.append(float(pick(parent.mlp_ratios[min(j, len(parent.mlp_ratios) - 1)], c.mlp_ratios)))
        return ViTArch(dim, tuple(heads), tuple(mlps))

    def crossover(self, a: ViTArch, b: ViTArch, mix: Callable[[Any, Any], Any]) -> ViTArch:
        """Dim and depth from either parent; each block's genes from either parent's block at that depth (the
        parent that has it when only one does); head counts that do not divide the dim become the largest that do."""
        dim, depth = int(mix(a.dim, b.dim)), int(mix(len(a.heads), len(b.heads)))
        hs = self.choices.heads_for(dim)
        heads, mlps = [], []
        for j in range(depth):
            pa = (a.heads[j], a.mlp_ratios[j]) if j < len(a.heads) else None
            pb = (b.heads[j], b.mlp_ratios[j]) if j < len(b.heads) else None
            h, m = mix(pa, pb) if pa and pb else (pa or pb)
            heads.append(h if h in hs else max(hs))
            mlps.append(m)
        return ViTArch(dim, tuple(heads), tuple(mlps))

    @staticmethod
    def arch_from_dict(d: dict) -> ViTArch:
        return ViTArch.from_dict(d)

    def describe(self) -> str:
        return json.dumps({"choices": asdict(self.choices), "space": asdict(self.former_space)}, sort_keys=True)
