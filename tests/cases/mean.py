"""mean_s8 cases (TFLite MEAN over H and W): scale ratios below and above one, odd sizes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph
from tinycore.runtime.fixedpoint import quantize_multiplier


@dataclass(frozen=True)
class MeanCase:
    name: str
    hw: tuple[int, int]
    channels: int
    scale_ratio: float  # input scale / output scale

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        mult, shift = quantize_multiplier(self.scale_ratio)
        attrs = dict(input_zp=in_zp, output_zp=out_zp, mult=mult, shift=shift)
        return single_op("mean_s8", act("x", (1, *self.hw, self.channels), in_zp), [], attrs, out_zp)


MEAN_CASES = [
    MeanCase("same_scale", hw=(4, 4), channels=8, scale_ratio=1.0),
    MeanCase("shrink", hw=(5, 7), channels=10, scale_ratio=0.3),
    MeanCase("grow_positive_shift", hw=(3, 3), channels=5, scale_ratio=3.7),
    MeanCase("big_map", hw=(12, 10), channels=3, scale_ratio=0.8),
    MeanCase("single_pixel", hw=(1, 1), channels=6, scale_ratio=1.9),
]
