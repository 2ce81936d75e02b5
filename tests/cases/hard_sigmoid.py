"""Hard-sigmoid cases: hsigmoid after a conv, a depthwise conv or a linear layer, as the quantizer lowers it (folded
into that layer: weights / 6, bias (b + 3) / 6, output quantization (float32(1/255), -128), so int8 saturation is
the [0, 1] clamp). Edge shapes: 1x1 map, odd channels, non-square with stride 2 and padding, a vector, and a
pre-activation far beyond +-3 (every output saturated), plus the whole squeeze-and-excitation gate.

Unlike the op tables these build a torch model and quantize it: the lowering is in tinycore.quant, the integer
arithmetic is conv2d_s8 / depthwise_conv2d_s8 / fully_connected_s8's own.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tinycore.ir import Graph
from tinycore.quant import quantize


class _SEGate(nn.Module):
    """x * hsigmoid(expand(relu(reduce(mean_hw(x))))): MobileNetV3's squeeze-and-excitation."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(c, max(c // 4, 1), 1), nn.Conv2d(max(c // 4, 1), c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(s))))


@dataclass(frozen=True)
class HardSigmoidCase:
    name: str
    layer: str                 # "conv", "dwconv", "fc" or "se"
    shape: tuple[int, ...]     # float input per sample: (C, H, W) or (N,)
    out: int = 8
    kernel: int = 3
    stride: int = 1
    gain: float = 1.0          # weights scaled by this: large gains push the pre-activation far beyond +-3

    def model(self, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        c = self.shape[0]
        if self.layer == "fc":
            m = nn.Sequential(nn.Linear(c, self.out), nn.Hardsigmoid())
        elif self.layer == "se":
            m = _SEGate(c)
        else:
            groups = c if self.layer == "dwconv" else 1
            cout = c if self.layer == "dwconv" else self.out
            m = nn.Sequential(nn.Conv2d(c, cout, self.kernel, self.stride, self.kernel // 2, groups=groups),
                              nn.Hardsigmoid())
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(self.gain)
        return m.eval()

    def inputs(self, seed: int, n: int = 16) -> torch.Tensor:
        return 2.0 * torch.randn(n, *self.shape, generator=torch.Generator().manual_seed(seed))

    def make(self, seed: int) -> Graph:
        return quantize(self.model(seed), [self.inputs(seed)])


HARD_SIGMOID_CASES = [
    HardSigmoidCase("conv_stride2_pad_nonsquare", "conv", (3, 9, 7), out=5, stride=2),
    HardSigmoidCase("conv_1x1_map", "conv", (4, 1, 1), out=3, kernel=1),
    HardSigmoidCase("pointwise_odd_channels", "conv", (7, 5, 3), out=9, kernel=1),
    HardSigmoidCase("depthwise_odd", "dwconv", (5, 6, 6)),
    HardSigmoidCase("fc_vector", "fc", (13,), out=7),
    HardSigmoidCase("saturate_both_ends", "conv", (3, 4, 4), out=6, gain=40.0),
    HardSigmoidCase("se_gate", "se", (8, 5, 4)),
]
