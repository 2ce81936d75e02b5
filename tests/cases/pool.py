"""avg_pool2d_s8 and max_pool2d_s8 cases: borders where windows hold fewer pixels, non-square, global."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, same_pads, single_op, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class PoolCase:
    name: str
    kind: str  # "avg_pool2d_s8" | "max_pool2d_s8"
    hw: tuple[int, int]
    channels: int
    filter: tuple[int, int]
    stride: tuple[int, int]
    pad: str | tuple[int, int, int, int] = "valid"
    act: tuple[int, int] = (-128, 127)

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        (h, w), (fh, fw), (sh, sw) = self.hw, self.filter, self.stride
        if self.pad == "same":
            (pt, pb), (pl, pr) = same_pads(h, fh, sh), same_pads(w, fw, sw)
        elif self.pad == "valid":
            pt = pb = pl = pr = 0
        else:
            pt, pb, pl, pr = self.pad
        zp = zero_point(rng)
        attrs = dict(filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw, pad_top=pt, pad_bottom=pb, pad_left=pl,
                     pad_right=pr, act_min=self.act[0], act_max=self.act[1])
        return single_op(self.kind, act("x", (1, h, w, self.channels), zp), [], attrs, zp)


def _both(name: str, **kw) -> list[PoolCase]:
    return [PoolCase(f"avg_{name}", "avg_pool2d_s8", **kw), PoolCase(f"max_{name}", "max_pool2d_s8", **kw)]


POOL_CASES = [
    *_both("2x2_s2", hw=(8, 6), channels=4, filter=(2, 2), stride=(2, 2)),
    *_both("3x3_s2_same", hw=(9, 8), channels=3, filter=(3, 3), stride=(2, 2), pad="same"),
    *_both("3x3_s1_pad1", hw=(5, 5), channels=5, filter=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1)),
    *_both("nonsquare", hw=(7, 9), channels=2, filter=(2, 3), stride=(1, 2), pad=(0, 1, 1, 1)),
    *_both("global", hw=(5, 7), channels=11, filter=(5, 7), stride=(1, 1)),
    *_both("clamped", hw=(6, 6), channels=3, filter=(2, 2), stride=(2, 2), act=(-20, 60)),
    *_both("odd_valid", hw=(7, 7), channels=1, filter=(3, 3), stride=(3, 3)),
]
AVG_POOL_CASES = [c for c in POOL_CASES if c.kind == "avg_pool2d_s8"]
MAX_POOL_CASES = [c for c in POOL_CASES if c.kind == "max_pool2d_s8"]
