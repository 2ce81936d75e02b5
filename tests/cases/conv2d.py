"""conv2d_s8 edge shapes shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, same_pads, single_op, weights, zero_point
from tinycore.ir import Graph


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


@dataclass(frozen=True)
class Conv2dCase:
    name: str
    hw: tuple[int, int]
    cin: int
    cout: int
    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    dilation: int = 1
    pad: str | tuple[int, int, int, int] = "same"  # "same", "valid" or (top, bottom, left, right)
    gain: float = 1.0  # >> 1 saturates, < 1 needs positive or very negative shifts
    extreme: bool = False  # weights at +-127 and inputs at the range ends
    relu: bool = False
    input_zp: int | None = None  # None: random
    weight_std: float = 45.0

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        kh, kw = _pair(self.kernel)
        sh, sw = _pair(self.stride)
        h, w = self.hw
        if self.pad == "same":
            (pt, pb), (pl, pr) = same_pads(h, kh, sh, self.dilation), same_pads(w, kw, sw, self.dilation)
        elif self.pad == "valid":
            pt = pb = pl = pr = 0
        else:
            pt, pb, pl, pr = self.pad
        in_zp = zero_point(rng) if self.input_zp is None else self.input_zp
        out_zp = zero_point(rng)
        wt = weights(rng, (self.cout, kh, kw, self.cin), self.extreme, self.weight_std)
        acc_std = 70.0 * np.sqrt(kh * kw * self.cin) * max(float(np.abs(wt).mean()), 1.0)
        mult, shift = requant(rng, self.cout, acc_std, self.gain)
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, self.cout).astype(np.int32)
        attrs = dict(stride_h=sh, stride_w=sw, dilation_h=self.dilation, dilation_w=self.dilation, pad_top=pt,
                     pad_bottom=pb, pad_left=pl, pad_right=pr, input_zp=in_zp, output_zp=out_zp,
                     act_min=max(out_zp, -128) if self.relu else -128, act_max=127)
        consts = [const("w", wt), const("bias", bias), const("mult", mult), const("shift", shift)]
        return single_op("conv2d_s8", act("x", (1, h, w, self.cin), in_zp), consts, attrs, out_zp)


CONV2D_CASES = [
    Conv2dCase("stride2_pad", hw=(9, 7), cin=3, cout=8, kernel=3, stride=2),
    Conv2dCase("stride2_even_asym_pad", hw=(8, 10), cin=4, cout=5, kernel=3, stride=2),
    Conv2dCase("pointwise_odd", hw=(7, 5), cin=19, cout=7, kernel=1, pad="valid"),
    Conv2dCase("pointwise_shrink", hw=(5, 5), cin=16, cout=8, kernel=1, pad="valid", relu=True),
    Conv2dCase("k5_same", hw=(6, 6), cin=4, cout=5, kernel=5),
    Conv2dCase("k7_stride2", hw=(15, 11), cin=3, cout=6, kernel=7, stride=2),
    Conv2dCase("nonsquare_kernel", hw=(8, 10), cin=3, cout=4, kernel=(3, 5)),
    Conv2dCase("nonsquare_stride", hw=(9, 9), cin=2, cout=3, kernel=3, stride=(2, 1)),
    Conv2dCase("dilation2", hw=(10, 9), cin=3, cout=4, kernel=3, dilation=2),
    Conv2dCase("valid_k3", hw=(6, 5), cin=5, cout=3, kernel=3, pad="valid"),
    Conv2dCase("pad_wider_than_kernel", hw=(4, 4), cin=2, cout=3, kernel=3, pad=(2, 2, 3, 1)),
    Conv2dCase("saturate", hw=(4, 4), cin=16, cout=4, kernel=3, extreme=True, gain=50.0),
    Conv2dCase("positive_shift", hw=(5, 4), cin=1, cout=3, kernel=1, pad="valid", gain=4.0, weight_std=1.0),
    Conv2dCase("tiny_gain", hw=(5, 5), cin=8, cout=4, kernel=3, gain=1e-6),
    Conv2dCase("relu_zp_min", hw=(6, 6), cin=3, cout=5, kernel=3, relu=True, input_zp=-128),
    Conv2dCase("input_zp_max", hw=(5, 6), cin=3, cout=2, kernel=3, input_zp=127),
]
