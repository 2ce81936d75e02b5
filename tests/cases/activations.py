"""logistic_s8 and hard_swish_s8 cases: input scales from fine to coarse (saturating early), zero-point extremes.

Parameters are TFLite Micro's preparation (tinycore.tflite.params), as the importer derives them.
"""
from __future__ import annotations

from dataclasses import dataclass

from tests.cases.build import act, single_op
from tinycore.ir import Graph, Tensor
from tinycore.tflite import params as P


def with_output_scale(g: Graph, scale: float) -> Graph:
    """The output tensor in the quantization its parameters were derived for (single_op gives a default)."""
    y = g.tensors["y"]
    g.tensors["y"] = Tensor(y.name, y.shape, y.dtype, (P.f32(scale),), y.zero_point)
    return g


@dataclass(frozen=True)
class LogisticCase:
    name: str
    shape: tuple[int, ...]
    scale: float
    zp: int

    def make(self, seed: int) -> Graph:
        x = act("x", self.shape, self.zp, self.scale)
        return with_output_scale(single_op("logistic_s8", x, [], P.logistic_params(self.scale, self.zp), -128),
                                 1.0 / 256)


@dataclass(frozen=True)
class HardSwishCase:
    name: str
    shape: tuple[int, ...]
    scales: tuple[float, float]  # input, output
    zps: tuple[int, int]

    def make(self, seed: int) -> Graph:
        x = act("x", self.shape, self.zps[0], self.scales[0])
        attrs = P.hard_swish_params(self.scales[0], self.zps[0], self.scales[1], self.zps[1])
        return with_output_scale(single_op("hard_swish_s8", x, [], attrs, self.zps[1]), self.scales[1])


LOGISTIC_CASES = [
    LogisticCase("typical", (1, 4, 4, 3), 0.05, 3),
    LogisticCase("fine_scale", (1, 5, 3, 7), 0.004, -20),
    LogisticCase("coarse_saturates", (1, 37), 0.3, 0),
    LogisticCase("zp_min", (1, 2, 2, 16), 0.1, -128),
    LogisticCase("zp_max", (1, 3, 1, 5), 0.02, 127),
]

HARD_SWISH_CASES = [
    HardSwishCase("typical", (1, 4, 4, 3), (0.05, 0.03), (-10, -100)),
    HardSwishCase("wide_input", (1, 5, 3, 7), (0.2, 0.1), (0, -60)),
    HardSwishCase("fine_input", (1, 37), (0.01, 0.02), (5, -128)),
    HardSwishCase("output_saturates", (1, 2, 2, 16), (0.1, 0.01), (-128, 0)),
    HardSwishCase("zp_max", (1, 3, 1, 5), (0.05, 0.05), (127, -3)),
]
