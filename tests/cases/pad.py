"""pad_s8 cases: every side, asymmetric, pad values at the range ends."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class PadCase:
    name: str
    hw: tuple[int, int]
    channels: int
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    pad_value: int | None = None  # None: the input zero point

    def make(self, seed: int) -> Graph:
        zp = zero_point(np.random.default_rng(seed))
        value = zp if self.pad_value is None else self.pad_value
        attrs = dict(zip(("pad_top", "pad_bottom", "pad_left", "pad_right"), self.pads), pad_value=value)
        return single_op("pad_s8", act("x", (1, *self.hw, self.channels), zp), [], attrs, zp)


PAD_CASES = [
    PadCase("all_sides", hw=(4, 5), channels=3, pads=(1, 1, 1, 1)),
    PadCase("asymmetric", hw=(3, 6), channels=2, pads=(0, 2, 3, 1)),
    PadCase("value_min", hw=(2, 2), channels=5, pads=(1, 0, 0, 1), pad_value=-128),
    PadCase("value_max", hw=(5, 1), channels=1, pads=(2, 2, 0, 0), pad_value=127),
    PadCase("none", hw=(3, 3), channels=4, pads=(0, 0, 0, 0)),
]
