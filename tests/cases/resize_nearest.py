"""resize_nearest_s8 cases: integer up-scaling, general and down-scaling sizes, align_corners, half_pixel_centers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class ResizeCase:
    name: str
    shape: tuple[int, int, int, int]
    out_hw: tuple[int, int]
    align_corners: int = 0
    half_pixel_centers: int = 0

    def make(self, seed: int) -> Graph:
        zp = zero_point(np.random.default_rng(seed))
        attrs = dict(out_h=self.out_hw[0], out_w=self.out_hw[1], align_corners=self.align_corners,
                     half_pixel_centers=self.half_pixel_centers)
        return single_op("resize_nearest_s8", act("x", self.shape, zp), [], attrs, zp)


RESIZE_NEAREST_CASES = [
    ResizeCase("x2_odd_channels", (1, 3, 5, 3), (6, 10)),
    ResizeCase("general_up", (1, 5, 3, 1), (7, 4)),
    ResizeCase("down", (1, 8, 6, 2), (3, 4)),
    ResizeCase("align_corners", (1, 4, 3, 5), (7, 9), align_corners=1),
    ResizeCase("half_pixel", (1, 3, 4, 2), (8, 6), half_pixel_centers=1),
    ResizeCase("half_pixel_down", (1, 7, 5, 3), (3, 2), half_pixel_centers=1),
    ResizeCase("to_one", (1, 4, 4, 2), (1, 1), align_corners=1),
]
