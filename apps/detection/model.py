"""The default detector: a MobileNetV1-style backbone (a tinycore.spec ModelSpec, stem + blocks, ending at the
head's stride) and the anchor-free head of the README contract, as one torch module with two outputs.

    input (N, 3, H, W) float in [0, 1] (the vision front end's p / 255)
    heat  (N, C, H/s, W/s)  after a sigmoid (the quantizer makes it logistic_s8, scale 1/256, zp -128)
    box   (N, 4, H/s, W/s)  (off_x, off_y, w, h) in cell units, linear

The architecture is data (`DetectorSpec`, saved as JSON in the run folder) so that a search can replace the
backbone later; the head is fixed: a depthwise 3x3 + 1x1 conv (each + BN + ReLU) shared by a 1x1 heat conv and a
1x1 box conv. (A full 3x3 conv there cost 44 M of the model's 86 M MACs at 320x240 for no better loss.)
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
from torch import nn

from tinycore.spec import Conv, DWSep, InputSpec, ModelSpec, SpecError, build_model, layer_from_dict, model_stats

HEAT_PRIOR = 0.1  # initial heat probability (CenterNet's bias init: -log((1 - p) / p))


@dataclass(frozen=True)
class DetectorSpec:
    backbone: ModelSpec  # stem + blocks, no head; its output stride must equal `stride`
    classes: tuple[str, ...]
    stride: int = 8
    head_width: int = 64
    name: str = "det"
    context: int = 0  # channels of the stride-2s context branch added before the neck (0: none); see Detector

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.backbone.input.height, self.backbone.input.width

    def grid_hw(self) -> tuple[int, int]:
        h, w = self.input_hw
        return h // self.stride, w // self.stride

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "classes": list(self.classes), "stride": self.stride,
                           "head_width": self.head_width, "context": self.context,
                           "backbone": self.backbone.to_dict()}, indent=1)


def spec_from_json(text: str) -> DetectorSpec:
    d = json.loads(text)
    b = d["backbone"]
    backbone = ModelSpec(input=InputSpec(**b["input"]), stem=tuple(layer_from_dict(x) for x in b["stem"]),
                         blocks=tuple(layer_from_dict(x) for x in b["blocks"]), name=b.get("name", ""))
    return DetectorSpec(backbone, tuple(d["classes"]), d["stride"], d["head_width"], d["name"], d.get("context", 0))


def default_spec(classes: tuple[str, ...], input_hw: tuple[int, int] = (240, 320), width: int = 64,
                 context: int = 128) -> DetectorSpec:
    """Stride 8: conv s2, two stride-2 depthwise-separable stages, then three 5x5 depthwise-separable blocks at
    stride 8 (receptive field ~135 px at the head, enough for objects half a 240 px frame high), and a context
    branch of `context` channels at stride 16 added before the neck (0: none; README Measured: with 128 and 18
    quick epochs, test int8 mAP@0.5 0.803 against 0.724)."""
    h, w = input_hw
    half = width // 2
    backbone = ModelSpec(
        input=InputSpec(channels=3, height=h, width=w),
        stem=(Conv(width // 4, kernel=3, stride=2, act="relu"),),
        blocks=(DWSep(half, stride=2), DWSep(half), DWSep(width, stride=2),
                DWSep(width, kernel=5), DWSep(width, kernel=5), DWSep(width, kernel=5)),
        name=f"mbv1_det_w{width}")
    name = f"det_s8_w{width}" + (f"_c{context}" if context else "") + f"_{h}x{w}"
    return DetectorSpec(backbone, tuple(classes), stride=8, head_width=width, name=name, context=context)


def dw_separable(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Depthwise kxk + pointwise 1x1, each + BN + ReLU (the neck's and the context branch's block)."""
    return nn.Sequential(nn.Conv2d(cin, cin, kernel, stride, kernel // 2, groups=cin, bias=False), nn.BatchNorm2d(cin),
                         nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Detector(nn.Module):
    """Backbone -> [context branch] -> neck -> heat (sigmoid) and box 1x1 convs.

    With spec.context = K, a branch at twice the head's stride (a stride-2 depthwise-separable block to K
    channels, a 5x5 depthwise and a 1x1 back to the backbone's channels, no ReLU) is upsampled (nearest) and added
    to the backbone's output before the neck (a top-down path, as in FPN): the head sees about twice the receptive
    field (meant for telling person / dog / chair apart) for 6 M MACs, as the grid there has a quarter of the
    cells (widening the stride-8 stages to 96 channels cost 1.9x the CPU). An add, not a concat:
    the int8 concat needs both inputs requantized to one scale, and those copies plus the concat's output at stride
    8 took the arena past 256 KB (460,800 B with 128 channels), where the add is in place."""

    def __init__(self, spec: DetectorSpec) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = build_model(spec.backbone)
        c = model_stats(spec.backbone)["shapes"][-1][0]
        k, x = spec.head_width, spec.context
        if x:
            self.context = nn.Sequential(dw_separable(c, x, 3, 2),
                                         nn.Conv2d(x, x, 5, padding=2, groups=x, bias=False), nn.BatchNorm2d(x),
                                         nn.ReLU(), nn.Conv2d(x, c, 1, bias=False), nn.BatchNorm2d(c))
            self.up = nn.Upsample(size=spec.grid_hw(), mode="nearest")  # back onto the grid, odd sizes too
        self.neck = dw_separable(c, k)
        self.heat = nn.Conv2d(k, len(spec.classes), 1)
        self.box = nn.Conv2d(k, 4, 1)
        self.sigmoid = nn.Sigmoid()
        nn.init.constant_(self.heat.bias, -math.log((1 - HEAT_PRIOR) / HEAT_PRIOR))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.backbone(x)
        if self.spec.context:
            f = f + self.up(self.context(f))
        f = self.neck(f)
        return self.sigmoid(self.heat(f)), self.box(f)


def check_stride(spec: DetectorSpec) -> None:
    """The backbone must end at the head's stride (grid = input / stride exactly)."""
    shape = model_stats(spec.backbone)["shapes"][-1]
    if tuple(shape[1:]) != spec.grid_hw():
        raise SpecError(f"{spec.name}: backbone output {tuple(shape)} is not the input {spec.input_hw} / stride "
                         f"{spec.stride} = {spec.grid_hw()}")


def detector_stats(spec: DetectorSpec) -> dict:
    """Params and MACs of backbone + context + head (convs only, BN folded), as tinycore.spec counts them."""
    s = model_stats(spec.backbone)
    c = s["shapes"][-1][0]
    gh, gw = spec.grid_hw()
    k, n, x = spec.head_width, len(spec.classes), spec.context
    cells, ctx_cells = gh * gw, -(-gh // 2) * -(-gw // 2)  # the branch's stride-2 conv pads: ceil
    ctx_params = (9 * c + c + c * x + x + 25 * x + x + x * c + c) if x else 0
    ctx_macs = ctx_cells * (9 * c + c * x + 25 * x + x * c) if x else 0
    head_params = 9 * c + c + c * k + k + (k + 1) * n + (k + 1) * 4
    head_macs = cells * (9 * c + c * k + k * (n + 4))
    return {"params": s["params"] + ctx_params + head_params, "macs": s["macs"] + ctx_macs + head_macs}
