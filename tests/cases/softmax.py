"""softmax_s8 cases with TFLite Micro's preparation (beta 1, 5 integer bits for the scaled difference)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph
from tinycore.runtime.fixedpoint import quantize_multiplier

SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(input_scale: float, beta: float = 1.0) -> dict:
    """PreprocessSoftmaxScaling + CalculateInputRadius as TFLite does them."""
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    mult, left_shift = quantize_multiplier(real)
    radius = ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift)
    return dict(input_mult=mult, input_left_shift=left_shift, diff_min=-int(math.floor(radius)))


@dataclass(frozen=True)
class SoftmaxCase:
    name: str
    n: int
    input_scale: float
    rows: tuple[int, ...] = ()  # leading axes: softmax runs over each row of the last axis (attention (H, T, T))

    def make(self, seed: int) -> Graph:
        zp = zero_point(np.random.default_rng(seed))
        y_zp = -128  # output scale 1/256, zero point -128
        return single_op("softmax_s8", act("x", (1, *self.rows, self.n), zp, self.input_scale), [],
                         softmax_params(self.input_scale), y_zp)


SOFTMAX_CASES = [
    SoftmaxCase("classes12", n=12, input_scale=0.1),
    SoftmaxCase("classes2", n=2, input_scale=0.05),
    SoftmaxCase("wide_logits", n=10, input_scale=0.5),
    SoftmaxCase("narrow_logits", n=35, input_scale=0.003),
    SoftmaxCase("attention_rows", n=7, input_scale=0.08, rows=(3, 7)),
    # exp tables with 249 entries above diff_min (-248) and with 8 (diff_min -7: most differences give -128)
    SoftmaxCase("attention_64_tokens", n=64, input_scale=0.1, rows=(2, 64)),
    SoftmaxCase("short_table", n=40, input_scale=2.0, rows=(5,)),
]
