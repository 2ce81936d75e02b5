"""The TinyNAS search space: an MBConv backbone ("MBNet-alike") with width multiplier W and input resolution R,
per-block kernel size and expand ratio, per-stage depth. Torch-free: search code samples and mutates `Arch`
values and turns them into `ModelSpec`s; only the supernet builds modules.

An app sets the stage layout, the W and R grids and the input modality through `input_shape`: either a fixed
(C, H, W) (e.g. 1 x 49 x 10 MFCCs; R then only labels the space) or a function R -> (C, H, W) (images: (3, R, R);
audio: e.g. R frames x 10 coefficients).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tinycore.errors import SpecError
from tinycore.spec.layers import FC, Conv, Dropout, Flatten, GlobalPool, InputSpec, MBConv, ModelSpec
from tinycore.spec.zoo import make_divisible

Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class StageSpec:
    out: int                                # output channels at width 1.0
    stride: int = 1                         # stride of the stage's first block (the others use 1)
    depths: tuple[int, ...] = (2, 3, 4)     # elastic depth choices (blocks in this stage)
    kernels: tuple[int, ...] | None = None  # this stage's kernel choices; None = the space's (receptive-field
                                            # redistribution, tinycore.nas.patch_space, sets them per stage)


@dataclass(frozen=True)
class Arch:
    """One subnet: width, resolution, depth per stage and (kernel, expand) per block slot.

    `kernels[s]` and `expands[s]` have one entry per slot up to the stage's largest depth; slots past `depths[s]`
    are kept (mutation may re-activate them) but do not change the network. `key()` identifies the network.
    """
    width: float
    resolution: int
    depths: tuple[int, ...]
    kernels: tuple[tuple[int, ...], ...]
    expands: tuple[tuple[int, ...], ...]

    def key(self) -> tuple:
        return (self.width, self.resolution,
                tuple(tuple(zip(k[:d], e[:d])) for d, k, e in zip(self.depths, self.kernels, self.expands)))

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "resolution": self.resolution, "depths": list(self.depths),
                "kernels": [list(k) for k in self.kernels], "expands": [list(e) for e in self.expands]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Arch":
        return Arch(float(d["width"]), int(d["resolution"]), tuple(int(x) for x in d["depths"]),
                    tuple(tuple(int(x) for x in k) for k in d["kernels"]),
                    tuple(tuple(int(x) for x in e) for e in d["expands"]))

    def short(self) -> str:
        """Compact text such as 'W0.5 R49 | k357e436 | k33e66' (active blocks only)."""
        parts = []
        for d, k, e in zip(self.depths, self.kernels, self.expands):
            parts.append("k" + "".join(map(str, k[:d])) + "e" + "".join(map(str, e[:d])))
        return f"W{self.width:g} R{self.resolution} | " + " | ".join(parts)


def _check_choices(name: str, values: tuple, ok: Callable[[Any], bool], what: str) -> None:
    if not values or not all(ok(v) for v in values):
        raise SpecError(f"search space: {name} must be a non-empty tuple of {what}, got {values!r}")


@dataclass(frozen=True)
class SearchSpace:
    stages: tuple[StageSpec, ...]
    head_classes: int
    input_shape: Shape3 | Callable[[int], Shape3]   # fixed (C, H, W), or resolution -> (C, H, W)
    widths: tuple[float, ...] = (0.5, 0.75, 1.0)
    resolutions: tuple[int, ...] = (96,)
    kernels: tuple[int, ...] = (3, 5, 7)
    expands: tuple[int, ...] = (3, 4, 6)
    stem: Conv = field(default_factory=lambda: Conv(16, kernel=3, stride=2, act="relu6"))  # out scaled by W
    head_conv: int | None = None    # optional 1x1 conv before the pool (channels at W 1.0, scaled)
    dropout: float = 0.0            # before the classifier (ignored by int8 export)
    act: str = "relu6"
    channel_divisor: int = 8        # scaled widths are rounded to multiples of this (make_divisible)
    name: str = "tinynas"
    patch_stages: int = 0           # leading stages meant to run by patches (tinycore.nas.joint splits in them)

    def __post_init__(self) -> None:
        if not self.stages:
            raise SpecError("search space: give at least one StageSpec")
        for i, st in enumerate(self.stages):
            _check_choices(f"stages[{i}].depths", tuple(st.depths), lambda v: isinstance(v, int) and v >= 1,
                           "ints >= 1")
        _check_choices("widths", tuple(self.widths), lambda v: isinstance(v, (int, float)) and v > 0, "numbers > 0")
        _check_choices("resolutions", tuple(self.resolutions), lambda v: isinstance(v, int) and v > 0, "ints > 0")
        _check_choices("kernels", tuple(self.kernels), lambda v: isinstance(v, int) and v % 2 == 1, "odd ints")
        _check_choices("expands", tuple(self.expands), lambda v: isinstance(v, int) and v > 1, "ints > 1")
        for i, st in enumerate(self.stages):
            if st.kernels is not None:
                _check_choices(f"stages[{i}].kernels", tuple(st.kernels),
                               lambda v: isinstance(v, int) and v in self.kernels, f"ints among kernels {self.kernels}")
        if not isinstance(self.patch_stages, int) or not 0 <= self.patch_stages <= len(self.stages):
            raise SpecError(f"search space: patch_stages must be an int in 0..{len(self.stages)}, "
                            f"got {self.patch_stages!r}")
        if not isinstance(self.head_classes, int) or self.head_classes < 1:
            raise SpecError(f"search space: head_classes must be an int >= 1, got {self.head_classes!r}")

    # ---- geometry
    def input_shape_at(self, resolution: int) -> Shape3:
        shape = self.input_shape(resolution) if callable(self.input_shape) else self.input_shape
        if len(shape) != 3:
            raise SpecError(f"search space: input_shape({resolution}) must be (C, H, W), got {shape!r}")
        return tuple(int(d) for d in shape)  # type: ignore[return-value]

    def scale(self, channels: int, width: float) -> int:
        return make_divisible(channels * width, self.channel_divisor)

    def max_depths(self) -> tuple[int, ...]:
        return tuple(max(st.depths) for st in self.stages)

    def stage_kernels(self, s: int) -> tuple[int, ...]:
        """Kernel choices of stage s (its own, else the space's): the supernet holds `kernels`, their union."""
        k = self.stages[s].kernels
        return tuple(self.kernels) if k is None else tuple(k)

    # ---- sampling
    def sample(self, rng: np.random.Generator, width: float, resolution: int) -> Arch:
        """A uniformly random subnet at (width, resolution)."""
        depths = tuple(int(rng.choice(st.depths)) for st in self.stages)
        kernels = tuple(tuple(int(rng.choice(self.stage_kernels(s))) for _ in range(m))
                        for s, m in enumerate(self.max_depths()))
        expands = tuple(tuple(int(rng.choice(self.expands)) for _ in range(m)) for m in self.max_depths())
        return Arch(float(width), int(resolution), depths, kernels, expands)

    def mutate(self, parent: Arch, pick: Callable[[int, tuple], int]) -> Arch:
        """A mutation of `parent`: each gene through `pick(current, choices)` (the evolution's resampling rule)."""
        depths = tuple(pick(d, st.depths) for d, st in zip(parent.depths, self.stages))
        kernels = tuple(tuple(pick(k, self.stage_kernels(i)) for k in ks) for i, ks in enumerate(parent.kernels))
        expands = tuple(tuple(pick(e, self.expands) for e in es) for es in parent.expands)
        return Arch(parent.width, parent.resolution, depths, kernels, expands)

    def crossover(self, a: Arch, b: Arch, mix: Callable[[Any, Any], Any]) -> Arch:
        """A uniform crossover: each gene `mix(from a, from b)`."""
        depths = tuple(mix(x, y) for x, y in zip(a.depths, b.depths))
        kernels = tuple(tuple(mix(x, y) for x, y in zip(ka, kb)) for ka, kb in zip(a.kernels, b.kernels))
        expands = tuple(tuple(mix(x, y) for x, y in zip(ea, eb)) for ea, eb in zip(a.expands, b.expands))
        return Arch(a.width, a.resolution, depths, kernels, expands)

    @staticmethod
    def arch_from_dict(d: dict[str, Any]) -> Arch:
        return Arch.from_dict(d)

    def _uniform(self, width: float, resolution: int, pick: Callable) -> Arch:
        return Arch(float(width), int(resolution), tuple(pick(st.depths) for st in self.stages),
                    tuple((pick(self.stage_kernels(s)),) * m for s, m in enumerate(self.max_depths())),
                    tuple((pick(self.expands),) * m for m in self.max_depths()))

    def largest(self, width: float, resolution: int) -> Arch:
        return self._uniform(width, resolution, max)

    def smallest(self, width: float, resolution: int) -> Arch:
        return self._uniform(width, resolution, min)

    # ---- to a spec
    def to_spec(self, arch: Arch, name: str | None = None) -> ModelSpec:
        """The standalone network of `arch` (what build_model trains and tinycore.quant exports)."""
        c, h, w = self.input_shape_at(arch.resolution)
        stem = Conv(self.scale(self.stem.out, arch.width), kernel=self.stem.kernel, stride=self.stem.stride,
                    padding=self.stem.padding, act=self.stem.act, bn=self.stem.bn)
        blocks = []
        for s, st in enumerate(self.stages):
            out = self.scale(st.out, arch.width)
            for j in range(arch.depths[s]):
                blocks.append(MBConv(out, expand=arch.expands[s][j], kernel=arch.kernels[s][j],
                                     stride=st.stride if j == 0 else 1, act=self.act))
        head: list = []
        if self.head_conv is not None:
            head.append(Conv(self.scale(self.head_conv, arch.width), kernel=1, act=self.act))
        head += [GlobalPool(), Flatten()]
        if self.dropout > 0:
            head.append(Dropout(self.dropout))
        head.append(FC(self.head_classes))
        return ModelSpec(input=InputSpec(channels=c, height=h, width=w), stem=(stem,), blocks=tuple(blocks),
                         head=tuple(head), name=name or f"{self.name}_w{arch.width:g}_r{arch.resolution}")

    def check_arch(self, arch: Arch) -> None:
        """Raise SpecError if `arch` uses a choice outside this space."""
        if arch.width not in self.widths or arch.resolution not in self.resolutions:
            raise SpecError(f"arch {arch.short()}: width/resolution not in the space {self.widths}/{self.resolutions}")
        for s, st in enumerate(self.stages):
            if arch.depths[s] not in st.depths:
                raise SpecError(f"arch {arch.short()}: stage {s} depth {arch.depths[s]} not in {st.depths}")
            if any(k not in self.stage_kernels(s) for k in arch.kernels[s]) or any(e not in self.expands
                                                                            for e in arch.expands[s]):
                raise SpecError(f"arch {arch.short()}: stage {s} uses a kernel/expand outside the space")

    def describe(self) -> dict[str, Any]:
        """JSON description (input shapes resolved per resolution), also the key of cached stage-1 results."""
        return {"name": self.name, "head_classes": self.head_classes,
                "stages": [{"out": st.out, "stride": st.stride, "depths": list(st.depths),
                            **({} if st.kernels is None else {"kernels": list(st.kernels)})} for st in self.stages],
                "widths": list(self.widths), "resolutions": list(self.resolutions),
                "input_shapes": {str(r): list(self.input_shape_at(r)) for r in self.resolutions},
                "kernels": list(self.kernels), "expands": list(self.expands),
                "stem": {"out": self.stem.out, "kernel": self.stem.kernel, "stride": self.stem.stride},
                "head_conv": self.head_conv, "dropout": self.dropout, "act": self.act,
                "channel_divisor": self.channel_divisor,
                **({"patch_stages": self.patch_stages} if self.patch_stages else {})}
