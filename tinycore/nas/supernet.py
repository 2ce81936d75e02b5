"""The once-for-all supernet at one (width, resolution): shared stem and head, elastic MBConv blocks and depth.

Elastic depth: a stage with active depth d runs its first d blocks (the first block changes stride/channels and
always runs). `extract(arch)` returns a standalone `SpecModel` (built by tinycore.spec from `space.to_spec(arch)`)
loaded with the active weights, so it can be trained further, quantized and exported like any other model.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from tinycore.errors import SpecError
from tinycore.nas.elastic import ElasticBN, ElasticMBConv
from tinycore.nas.space import Arch, SearchSpace
from tinycore.spec.build import SpecModel, build_layer, build_model
from tinycore.spec.shapes import child_names, infer_layer


class Supernet(nn.Module):
    def __init__(self, space: SearchSpace, width: float, resolution: int) -> None:
        super().__init__()
        self.space, self.width, self.resolution = space, float(width), int(resolution)
        largest = space.largest(width, resolution)
        spec = space.to_spec(largest)
        shape = spec.input.shape()
        self.stem = nn.Sequential()
        for name, layer in zip(child_names("stem", spec.stem), spec.stem):
            m, shape = build_layer(layer, shape, f"stem.{name}")
            self.stem.add_module(name, m)
        self.stages = nn.ModuleList()
        cin = shape[0]
        for s, st in enumerate(space.stages):
            cout = space.scale(st.out, width)
            blocks = nn.ModuleList()
            for j in range(max(st.depths)):
                stride = st.stride if j == 0 else 1
                blocks.append(ElasticMBConv(cin if j == 0 else cout, cout, stride, space.stage_kernels(s), space.expands,
                                            space.act))
            self.stages.append(blocks)
            cin = cout
        for layer in spec.blocks:  # the largest spec's block shapes (validates that the map never vanishes)
            shape, _, _ = infer_layer(layer, shape, "blocks")
        self.head = nn.Sequential()
        for name, layer in zip(child_names("head", spec.head), spec.head):
            m, shape = build_layer(layer, shape, f"head.{name}")
            self.head.add_module(name, m)
        self.depths = list(largest.depths)
        self.active = largest

    def set_active(self, arch: Arch) -> None:
        if arch.width != self.width or arch.resolution != self.resolution:
            raise SpecError(f"supernet is at W{self.width:g} R{self.resolution}; cannot run {arch.short()}")
        self.space.check_arch(arch)
        for s, blocks in enumerate(self.stages):
            for j, block in enumerate(blocks):
                block.set_active(arch.kernels[s][j], arch.expands[s][j])
        self.depths = list(arch.depths)
        self.active = arch

    def active_blocks(self) -> Iterator[ElasticMBConv]:
        for s, blocks in enumerate(self.stages):
            for j in range(self.depths[s]):
                yield blocks[j]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.active_blocks():
            x = block(x)
        return self.head(x)

    def sort_channels(self) -> None:
        for blocks in self.stages:
            for block in blocks:
                block.sort_channels()

    @torch.no_grad()
    def extract(self, arch: Arch | None = None) -> SpecModel:
        """A standalone model of `arch` (default: the active one) holding the supernet's current weights."""
        if arch is not None:
            self.set_active(arch)
        model = build_model(self.space.to_spec(self.active))
        state = {f"stem.{k}": v.clone() for k, v in self.stem.state_dict().items()}
        state.update({f"head.{k}": v.clone() for k, v in self.head.state_dict().items()})
        for i, block in enumerate(self.active_blocks()):
            state.update({f"blocks.{i}.{k}": v for k, v in block.effective_weights().items()})
        model.load_state_dict(state, strict=True)
        model.train(self.training)
        return model


def bn_layers(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, ElasticBN))]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Reset every BatchNorm's running statistics and re-estimate them as plain averages over `batches`.

    Weight-shared subnets see different statistics than the ones accumulated while training others (OFA,
    sec. 3.3); this is run per subnet before it is scored. The model is left in eval mode.
    """
    bns = bn_layers(model)
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    model.train()
    try:
        for x in batches:
            model(x)
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m
        model.eval()
