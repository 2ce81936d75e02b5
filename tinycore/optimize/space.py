"""The design space around a user's architecture: per-stage width multiplier, depth and depthwise kernel size, and
the input resolution, over the very layer list the importer parsed. Torch-free.

Stages: a new stage starts at each weighted layer that shrinks the map (a strided conv, depthwise conv,
depthwise-separable or inverted-residual block, or a residual block with a projection shortcut); pools do not
start one. Within a stage every channel count a layer sets is scaled by the stage's multiplier, so identity
residuals stay consistent. Depth: the stage's shape-preserving layers (identity residual blocks, stride-1 convs
with as many outputs as inputs) can be dropped, keeping the first `depth` of them in `keep_order` (by default their
order in the stage, so the stage's end goes first; optimize passes the order in which removing them from the
user's model hurts it least, `inherit.keep_order`). The
final classifier keeps its classes. Convolutions get their BatchNorm back (an imported graph has it folded into the
conv's bias; a candidate trained from scratch needs it, and the quantizer folds it again, so memory is unchanged).

`UserSpace` has the interface `tinycore.nas.evolution.evolve` uses (describe, sample, mutate, crossover,
arch_from_dict) and `Genome` that of `tinycore.nas.space.Arch` (key, to_dict, short), so the TinyNAS evolution
searches this space unchanged; `width` and `resolution` passed to `evolve` only label the run.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from tinycore.errors import SpecError
from tinycore.spec.layers import FC, SE, Conv, DWConv, DWSep, InputSpec, Layer, MBConv, ModelSpec, Residual
from tinycore.spec.shapes import analyze, infer_layer
from tinycore.spec.zoo import make_divisible

WIDTHS = (0.25, 0.35, 0.5, 0.75, 1.0)
RESOLUTION_SHARES = (1.0, 0.875, 0.75, 0.625, 0.5)
KERNELS = (3, 5)
KEEP_USER_GENE = 0.5  # with inherited weights, a sampled candidate keeps each user gene (resolution, width, kernel)
MIN_FIT_SHARE = 0.1   # ... unless fewer random candidates than this share fit the limits (fit_user_genes)
FIT_PROBES = 200


@dataclass(frozen=True)
class Genome:
    """One candidate: input height (width scaled alike), and per stage a width multiplier, the number of droppable
    layers kept and the depthwise kernel (0 when the stage has no depthwise layer)."""
    resolution: int
    widths: tuple[float, ...]
    depths: tuple[int, ...]
    kernels: tuple[int, ...]

    def key(self) -> tuple:
        return (self.resolution, self.widths, self.depths, self.kernels)

    def to_dict(self) -> dict[str, Any]:
        return {"resolution": self.resolution, "widths": list(self.widths), "depths": list(self.depths),
                "kernels": list(self.kernels)}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Genome":
        return Genome(int(d["resolution"]), tuple(float(x) for x in d["widths"]), tuple(int(x) for x in d["depths"]),
                      tuple(int(x) for x in d["kernels"]))

    def short(self) -> str:
        """e.g. 'R96 | w0.5 d2 k3 | w0.75 d1 k5'."""
        stages = " | ".join(f"w{w:g} d{d} k{k}" if k else f"w{w:g} d{d}"
                            for w, d, k in zip(self.widths, self.depths, self.kernels))
        return f"R{self.resolution} | {stages}"


@dataclass(frozen=True)
class _Unit:
    layer: Layer
    stage: int
    droppable: bool


def _flat(spec: ModelSpec) -> tuple[Layer, ...]:
    return tuple(spec.stem) + tuple(spec.blocks) + tuple(spec.head)


def _is_weighted_reducer(layer: Layer, in_shape, out_shape) -> bool:
    if len(in_shape) != 3 or len(out_shape) != 3 or out_shape[1] >= in_shape[1]:
        return False
    return isinstance(layer, (Conv, DWConv, DWSep, MBConv)) or (isinstance(layer, Residual) and bool(layer.shortcut))


def _units(spec: ModelSpec) -> list[_Unit]:
    units, shape, stage = [], spec.input.shape(), 0
    for i, layer in enumerate(_flat(spec)):
        out, _, _ = infer_layer(layer, shape, f"layer {i}")
        if units and _is_weighted_reducer(layer, shape, out):
            stage += 1
        keeps = tuple(out) == tuple(shape) and (
            (isinstance(layer, Residual) and not layer.shortcut) or isinstance(layer, (Conv, DWConv, DWSep, MBConv)))
        units.append(_Unit(layer, stage, keeps))
        shape = out
    return units


def _depthwise_kernel(layer: Layer) -> int:
    if isinstance(layer, (DWConv, DWSep, MBConv)) and isinstance(layer.kernel, int):
        return layer.kernel
    if isinstance(layer, Residual):
        return max((_depthwise_kernel(x) for x in layer.body), default=0)
    return 0


class UserSpace:
    """Candidates around `spec` (classification: the last layer is the FC to the classes)."""

    def __init__(self, spec: ModelSpec, widths: tuple[float, ...] = WIDTHS,
                 resolution_shares: tuple[float, ...] = RESOLUTION_SHARES, kernels: tuple[int, ...] = KERNELS,
                 channel_divisor: int = 4, keep_order: tuple[int, ...] | None = None,
                 keep_user_gene: float = 0.0) -> None:
        shape = spec.input.shape()
        if len(shape) != 3:
            raise SpecError(f"{spec.name or 'model'}: optimize needs an image-like (C, H, W) input, got {shape}")
        self.spec, self.channel_divisor, self.keep_user_gene = spec, channel_divisor, keep_user_gene
        self.units = _units(spec)
        self.n_stages = self.units[-1].stage + 1
        self.keep_order = self._check_keep_order(keep_order)
        self._keep_rank = {}
        for i in self.keep_order:
            self._keep_rank[i] = sum(self.units[j].stage == self.units[i].stage for j in self._keep_rank)
        self.widths = tuple(sorted(set(widths)))
        orig_k = [max((_depthwise_kernel(u.layer) for u in self.units if u.stage == s), default=0)
                  for s in range(self.n_stages)]
        self.kernel_choices = tuple(tuple(sorted(set(kernels) | {k})) if k else (0,) for k in orig_k)
        n_drop = [sum(u.droppable for u in self.units if u.stage == s) for s in range(self.n_stages)]
        self.depth_choices = tuple(tuple(range(n + 1)) for n in n_drop)
        self.original = Genome(shape[1], (1.0,) * self.n_stages, tuple(n_drop), tuple(orig_k))
        if 1.0 not in self.widths:
            self.widths = self.widths + (1.0,)
        res = sorted({max(8, int(round(shape[1] * r / 4)) * 4) for r in resolution_shares} | {shape[1]},
                     reverse=True)
        self.resolutions = tuple(r for r in res if self._valid(replace(self.original, resolution=r)))

    def droppable(self) -> list[int]:
        """Indices into `units` of the layers a candidate may drop (shape-keeping layers)."""
        return [i for i, u in enumerate(self.units) if u.droppable]

    def _check_keep_order(self, order: tuple[int, ...] | None) -> tuple[int, ...]:
        if order is None:
            return tuple(self.droppable())
        if sorted(order) != self.droppable():
            raise SpecError(f"{self.spec.name or 'model'}: keep_order {list(order)} must list each droppable layer "
                            f"{self.droppable()} once")
        return tuple(int(i) for i in order)

    # ---- what evolve() calls
    def describe(self) -> dict[str, Any]:
        return {"name": f"around:{self.spec.name}", "stages": self.n_stages, "widths": list(self.widths),
                "resolutions": list(self.resolutions), "depths": [list(d) for d in self.depth_choices],
                "kernels": [list(k) for k in self.kernel_choices], "keep_order": list(self.keep_order)}

    def sample(self, rng: np.random.Generator, width: float = 1.0, resolution: int = 0) -> Genome:
        """A random candidate: every gene drawn from its choices; with `keep_user_gene` p > 0 the resolution and
        each stage's width and kernel are the user's with probability p (depths are always drawn; the user's is
        the largest). Optimize sets p when candidates start from the user's weights (inherit.py): the channels a
        narrowing removes are knowledge a few epochs must relearn, so the first population holds many full-width
        stages."""
        o = self.original
        if self.keep_user_gene <= 0:
            return Genome(int(rng.choice(self.resolutions)), tuple(float(rng.choice(self.widths))
                                                                   for _ in range(self.n_stages)),
                          tuple(int(rng.choice(d)) for d in self.depth_choices),
                          tuple(int(rng.choice(k)) for k in self.kernel_choices))

        def gene(user: Any, choices: tuple) -> Any:
            return user if rng.random() < self.keep_user_gene else rng.choice(choices)
        return Genome(int(gene(o.resolution, self.resolutions)),
                      tuple(float(gene(w, self.widths)) for w in o.widths),
                      tuple(int(rng.choice(d)) for d in self.depth_choices),
                      tuple(int(gene(k, c)) for k, c in zip(o.kernels, self.kernel_choices)))

    def fit_user_genes(self, fits: Callable[[Genome], bool], seed: int, probes: int = FIT_PROBES,
                       min_fit_share: float = MIN_FIT_SHARE) -> dict[str, float]:
        """Lower `keep_user_gene` (halving it while >= 0.1, then 0) until at least `min_fit_share` of `probes`
        random candidates fit; return the share measured at each value tried. Why: far under the user's model
        (MobileNetV1 1.0 at 224 into 144 KB, from 3.3 MB of Flash) none of 200 candidates that keep half the user's
        genes fits, and the evolution's random draws fail; near it (the quick case) the user's genes stay likely.
        The draws use their own RNG (`seed`): the evolution's stream is unchanged."""
        rng = np.random.default_rng([seed, 1])
        shares: dict[str, float] = {}
        p = self.keep_user_gene
        while True:
            self.keep_user_gene = p
            share = sum(bool(fits(self.sample(rng))) for _ in range(probes)) / probes
            shares[f"{p:g}"] = share
            if share >= min_fit_share or p == 0.0:
                return shares
            p = p / 2 if p / 2 >= 0.1 else 0.0

    def mutate(self, parent: Genome, pick: Callable[[Any, tuple], Any]) -> Genome:
        return Genome(int(pick(parent.resolution, self.resolutions)),
                      tuple(float(pick(w, self.widths)) for w in parent.widths),
                      tuple(int(pick(d, c)) for d, c in zip(parent.depths, self.depth_choices)),
                      tuple(int(pick(k, c)) for k, c in zip(parent.kernels, self.kernel_choices)))

    def crossover(self, a: Genome, b: Genome, mix: Callable[[Any, Any], Any]) -> Genome:
        return Genome(mix(a.resolution, b.resolution), tuple(mix(x, y) for x, y in zip(a.widths, b.widths)),
                      tuple(mix(x, y) for x, y in zip(a.depths, b.depths)),
                      tuple(mix(x, y) for x, y in zip(a.kernels, b.kernels)))

    @staticmethod
    def arch_from_dict(d: dict[str, Any]) -> Genome:
        return Genome.from_dict(d)

    # ---- genome -> spec
    def input_hw(self, resolution: int) -> tuple[int, int]:
        _, h, w = self.spec.input.shape()
        return resolution, max(1, int(round(w * resolution / h)))

    def _scale(self, c: int, width: float) -> int:
        return c if width == 1.0 else make_divisible(c * width, self.channel_divisor)

    def _layer(self, layer: Layer, width: float, kernel: int, last: bool) -> Layer:
        if isinstance(layer, Conv):
            return replace(layer, out=self._scale(layer.out, width), bn=True)
        if isinstance(layer, (DWConv, DWSep, MBConv)):
            new = replace(layer, bn=True) if isinstance(layer, DWConv) else replace(layer, out=self._scale(layer.out,
                                                                                                            width))
            if kernel and isinstance(layer.kernel, int) and kernel != layer.kernel:
                pad = {} if isinstance(layer, MBConv) or layer.padding == "same" else {"padding": kernel // 2}
                new = replace(new, kernel=kernel, **pad)
            return new
        if isinstance(layer, SE):
            return replace(layer, squeeze=self._scale(layer.squeeze, width))
        if isinstance(layer, FC):
            return layer if last else replace(layer, out=self._scale(layer.out, width))
        if isinstance(layer, Residual):
            return Residual(body=tuple(self._layer(x, width, kernel, False) for x in layer.body),
                            shortcut=tuple(self._layer(x, width, kernel, False) for x in layer.shortcut))
        return layer

    def kept_units(self, g: Genome) -> list[int]:
        """Indices into `units` of the layers candidate `g` keeps, in order: in each stage the first `depth` of its
        droppable layers in `keep_order` (the one definition `to_spec` and weight inheritance both read)."""
        return [i for i, u in enumerate(self.units) if not u.droppable or self._keep_rank[i] < g.depths[u.stage]]

    def to_spec(self, g: Genome, name: str | None = None) -> ModelSpec:
        """The candidate network (all layers in `blocks`)."""
        h, w = self.input_hw(g.resolution)
        last_fc = max(i for i, u in enumerate(self.units) if isinstance(u.layer, FC)) if any(
            isinstance(u.layer, FC) for u in self.units) else -1
        layers = [self._layer(self.units[i].layer, g.widths[self.units[i].stage], g.kernels[self.units[i].stage],
                              i == last_fc) for i in self.kept_units(g)]
        c = self.spec.input.shape()[0]
        return ModelSpec(InputSpec(c, h, w), blocks=tuple(layers),
                         name=name or f"{self.spec.name or 'model'}_{_tag(g)}")

    def _valid(self, g: Genome) -> bool:
        try:
            analyze(self.to_spec(g))
            return True
        except SpecError:
            return False

    def is_valid(self, g: Genome) -> bool:
        return self._valid(g)


def _tag(g: Genome) -> str:
    return (f"r{g.resolution}_w{'-'.join(f'{w:g}' for w in g.widths)}_d{''.join(map(str, g.depths))}"
            f"_k{''.join(map(str, g.kernels))}")
