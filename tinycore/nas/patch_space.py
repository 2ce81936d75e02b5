"""Receptive-field redistribution (MCUNetV2, Lin et al. 2021, sec. 3.2) as a search-space option.

Patches of the first stage overlap by their halo: the receptive field of the patch stage, measured at the split.
Every extra block and every larger kernel before the split widens the halo, so the patch stage recomputes more
(MAC overhead) and its per-patch buffers grow. The remedy is to move receptive field out of the patch stage:
small kernels and few blocks before the split, larger kernels and more blocks after it, where the network runs
on the whole (already small) feature map and halos cost nothing.

`redistribute(space, patch_stages=2)` returns that space: the first `patch_stages` stages keep only
`patch_kernels` and at most `patch_max_depth` blocks; the later stages get `late_kernels` and `late_extra_depth`
more depth choices. The space records `patch_stages`, so the joint search (tinycore.nas.joint) puts its split
inside the restricted stages. Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from tinycore.errors import SpecError
from tinycore.nas.space import Arch, SearchSpace, StageSpec


@dataclass(frozen=True)
class Redistribution:
    patch_stages: int                       # leading stages (after the stem) that run by patches
    patch_kernels: tuple[int, ...] = (3,)   # kernel choices inside the patch stage
    patch_max_depth: int = 1                # depth cap of each patch stage
    late_kernels: tuple[int, ...] = (5, 7)  # kernel choices after the split (a wider receptive field)
    late_extra_depth: int = 1               # each later stage may take this many more blocks


def redistribute(space: SearchSpace, r: Redistribution | int) -> SearchSpace:
    """`space` with its receptive field moved out of the first `r.patch_stages` stages (see module doc)."""
    if isinstance(r, int):
        r = Redistribution(r)
    n = len(space.stages)
    if not 1 <= r.patch_stages < n:
        raise SpecError(f"search space {space.name}: patch_stages must be in 1..{n - 1} (a patch stage and at least "
                        f"one stage after it), got {r.patch_stages}")
    if r.patch_max_depth < 1 or r.late_extra_depth < 0:
        raise SpecError(f"search space {space.name}: patch_max_depth must be >= 1 and late_extra_depth >= 0, "
                        f"got {r.patch_max_depth} and {r.late_extra_depth}")
    stages = []
    for s, st in enumerate(space.stages):
        if s < r.patch_stages:
            depths = tuple(d for d in st.depths if d <= r.patch_max_depth) or (r.patch_max_depth,)
            stages.append(StageSpec(st.out, st.stride, depths, tuple(r.patch_kernels)))
        else:
            extra = tuple(max(st.depths) + i for i in range(1, r.late_extra_depth + 1))
            stages.append(StageSpec(st.out, st.stride, tuple(st.depths) + extra, tuple(r.late_kernels)))
    kernels = tuple(sorted(set(space.kernels) | set(r.patch_kernels) | set(r.late_kernels)))
    return replace(space, stages=tuple(stages), kernels=kernels, patch_stages=r.patch_stages,
                   name=f"{space.name}_rf{r.patch_stages}")


def patch_stage_blocks(space: SearchSpace, arch: Arch) -> int:
    """Active MBConv blocks in the space's declared patch stages (0 when it declares none)."""
    return sum(arch.depths[:space.patch_stages])


def receptive_field(space: SearchSpace, arch: Arch, blocks: int) -> int:
    """Receptive field (input pixels, one axis) of the stem plus the first `blocks` active blocks.

    Each window of size k at a cumulative stride j widens it by (k - 1) * j; MBConv's 1x1 convs add nothing.
    Used to show that redistribution narrows the patch stage, independently of tinycore.patch's exact walk.
    """
    rf, jump = space.stem.kernel, space.stem.stride
    seen = 0
    for s, st in enumerate(space.stages):
        for j in range(arch.depths[s]):
            if seen == blocks:
                return rf
            rf += (arch.kernels[s][j] - 1) * jump
            jump *= st.stride if j == 0 else 1
            seen += 1
    return rf
