"""add_s8 cases (TFLite ADD int8 preparation) shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, add_params, single_op, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class AddCase:
    name: str
    shape: tuple[int, ...]
    scales: tuple[float, float, float]  # input1, input2, output
    relu: bool = False

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        z1, z2, zo = zero_point(rng), zero_point(rng), zero_point(rng)
        s1, s2, so = self.scales
        attrs = dict(input1_zp=z1, input2_zp=z2, output_zp=zo, act_min=zo if self.relu else -128, act_max=127,
                     **add_params(rng, s1, s2, so))
        a = act("a", self.shape, z1, s1)
        b = act("b", self.shape, z2, s2)
        g = single_op("add_s8", a, [], attrs, zo, extra_inputs=[b])
        # b is a second activation: make it the output of a quantize of a so the graph keeps one input
        return _with_second_input(g, b, rng)


def _with_second_input(g: Graph, b, rng: np.random.Generator) -> Graph:
    """Single-input graphs only: b = quantize_s8(a) with its own zero point and scale."""
    from tinycore.ir import Op
    from tinycore.runtime.fixedpoint import quantize_multiplier

    a = g.input_tensor()
    mult, shift = quantize_multiplier(a.scale[0] / b.scale[0])
    g.ops.insert(0, Op("quantize_s8", "to_b", [a.name], [b.name],
                       dict(input_zp=a.zero_point, output_zp=b.zero_point, mult=mult, shift=shift)))
    return g


ADD_CASES = [
    AddCase("same_scales", shape=(1, 4, 4, 3), scales=(0.05, 0.05, 0.1)),
    AddCase("different_scales", shape=(1, 5, 3, 7), scales=(0.02, 0.09, 0.07)),
    AddCase("vector_relu", shape=(1, 37), scales=(0.1, 0.03, 0.08), relu=True),
    AddCase("saturate", shape=(1, 2, 2, 16), scales=(0.5, 0.4, 0.004)),
    AddCase("output_scale_large", shape=(1, 3, 3, 2), scales=(0.01, 0.011, 0.5)),
]
