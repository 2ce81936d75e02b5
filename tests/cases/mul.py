"""mul_s8 cases: same shape, a (1, 1, 1, C) vector over (1, H, W, C) on either side (squeeze-and-excitation),
odd channels, saturation and a fused clamp.

The graphs keep one input x: the other operand is a requantization of x (same shape) or its mean over H and W
(the vector), each with its own scale and zero point.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, zero_point
from tinycore.ir import SCHEMAS, Graph, Op
from tinycore.tflite import params as P


@dataclass(frozen=True)
class MulCase:
    name: str
    shape: tuple[int, ...]
    scales: tuple[float, float, float]  # x, other operand, output
    other: str  # "quantize" (same shape) or "mean" ((1, 1, 1, C))
    vector_first: bool = False  # mul(vector, x) instead of mul(x, vector)
    relu: bool = False

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        z1, z2, zo = zero_point(rng), zero_point(rng), zero_point(rng)
        s1, s2, so = self.scales
        x = act("x", self.shape, z1, s1)
        kind = "quantize_s8" if self.other == "quantize" else "mean_s8"
        ra = dict(input_zp=z1, output_zp=z2, **dict(zip(("mult", "shift"), P.requantize_multiplier(s1, s2))))
        v = act("v", SCHEMAS[kind].infer([x.shape], ra), z2, s2)
        pair = ["v", "x"] if self.vector_first else ["x", "v"]
        (sa, za), (sb, zb) = [(s2, z2) if n == "v" else (s1, z1) for n in pair]
        attrs = dict(input1_zp=za, input2_zp=zb, output_zp=zo, act_min=zo if self.relu else -128, act_max=127,
                     **P.mul_params(sa, sb, so))
        y = act("y", SCHEMAS["mul_s8"].infer([x.shape, v.shape] if pair[0] == "x" else [v.shape, x.shape], attrs),
                zo, so)
        ops = [Op(kind, "operand", ["x"], ["v"], ra), Op("mul_s8", "mul", pair, ["y"], attrs)]
        return Graph({"x": x, "v": v, "y": y}, ops, ["x"], ["y"])


MUL_CASES = [
    MulCase("same_shape", (1, 4, 4, 3), (0.05, 0.04, 0.3), "quantize"),
    MulCase("se_vector_odd_channels", (1, 5, 3, 7), (0.05, 0.01, 0.03), "mean"),
    MulCase("se_vector_first", (1, 3, 4, 5), (0.1, 0.02, 0.05), "mean", vector_first=True),
    MulCase("saturate", (1, 2, 2, 16), (0.5, 0.4, 0.004), "quantize"),
    MulCase("relu_tiny_output_scale_large", (1, 37), (0.01, 0.02, 0.5), "quantize", relu=True),
    MulCase("one_channel", (1, 3, 3, 1), (0.05, 0.05, 0.2), "mean"),
]
