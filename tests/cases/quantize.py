"""quantize_s8 cases (TFLite QUANTIZE int8 -> int8): scale ratios below/above one, wrap of a large left shift."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph
from tinycore.runtime.fixedpoint import quantize_multiplier


@dataclass(frozen=True)
class QuantizeCase:
    name: str
    shape: tuple[int, ...]
    scale_ratio: float | None  # input scale / output scale; None: use mult/shift as given
    mult_shift: tuple[int, int] = (0, 0)

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        mult, shift = quantize_multiplier(self.scale_ratio) if self.scale_ratio else self.mult_shift
        attrs = dict(input_zp=in_zp, output_zp=out_zp, mult=int(mult), shift=int(shift))
        return single_op("quantize_s8", act("x", self.shape, in_zp), [], attrs, out_zp)


QUANTIZE_CASES = [
    QuantizeCase("shrink", (1, 4, 4, 3), 0.37),
    QuantizeCase("grow", (1, 50), 2.6),
    QuantizeCase("identity", (1, 3, 5, 2), 1.0),
    QuantizeCase("tiny", (1, 20), 1.3e-5),
    # shift 24: (x - zp) << 24 wraps int32 for |x - zp| >= 128; C must wrap exactly as the runtime does
    QuantizeCase("left_shift_wraps", (1, 64), None, (1 << 30, 24)),
    QuantizeCase("max_mult", (1, 16), None, (2**31 - 1, -1)),
]
