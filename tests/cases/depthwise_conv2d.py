"""depthwise_conv2d_s8 edge shapes shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, same_pads, single_op, weights, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class DepthwiseCase:
    name: str
    hw: tuple[int, int]
    channels: int
    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    dilation: int = 1
    depth_multiplier: int = 1
    pad: str | tuple[int, int, int, int] = "same"
    gain: float = 1.0
    extreme: bool = False
    relu: bool = False

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        kh, kw = (self.kernel, self.kernel) if isinstance(self.kernel, int) else self.kernel
        sh, sw = (self.stride, self.stride) if isinstance(self.stride, int) else self.stride
        h, w = self.hw
        if self.pad == "same":
            (pt, pb), (pl, pr) = same_pads(h, kh, sh, self.dilation), same_pads(w, kw, sw, self.dilation)
        elif self.pad == "valid":
            pt = pb = pl = pr = 0
        else:
            pt, pb, pl, pr = self.pad
        cout = self.channels * self.depth_multiplier
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        wt = weights(rng, (1, kh, kw, cout), self.extreme)
        acc_std = 70.0 * np.sqrt(kh * kw) * max(float(np.abs(wt).mean()), 1.0)
        mult, shift = requant(rng, cout, acc_std, self.gain)
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, cout).astype(np.int32)
        attrs = dict(stride_h=sh, stride_w=sw, dilation_h=self.dilation, dilation_w=self.dilation, pad_top=pt,
                     pad_bottom=pb, pad_left=pl, pad_right=pr, input_zp=in_zp, output_zp=out_zp,
                     act_min=out_zp if self.relu else -128, act_max=127, depth_multiplier=self.depth_multiplier)
        consts = [const("w", wt), const("bias", bias), const("mult", mult), const("shift", shift)]
        return single_op("depthwise_conv2d_s8", act("x", (1, h, w, self.channels), in_zp), consts, attrs, out_zp)


DEPTHWISE_CASES = [
    DepthwiseCase("k3_same", hw=(6, 6), channels=8, kernel=3),
    DepthwiseCase("stride2_pad", hw=(9, 7), channels=5, kernel=3, stride=2),
    DepthwiseCase("stride2_even", hw=(8, 8), channels=4, kernel=3, stride=2),
    DepthwiseCase("k5_odd_channels", hw=(7, 9), channels=7, kernel=5),
    DepthwiseCase("k7_stride2", hw=(13, 10), channels=3, kernel=7, stride=2),
    DepthwiseCase("k1", hw=(4, 5), channels=6, kernel=1, pad="valid"),
    DepthwiseCase("nonsquare", hw=(10, 4), channels=3, kernel=(3, 1), stride=(1, 2)),
    DepthwiseCase("dilation2", hw=(9, 9), channels=4, kernel=3, dilation=2),
    DepthwiseCase("depth_multiplier2", hw=(6, 5), channels=3, kernel=3, depth_multiplier=2),
    DepthwiseCase("depth_multiplier2_stride2", hw=(7, 7), channels=2, kernel=3, stride=2, depth_multiplier=2),
    DepthwiseCase("valid_k3", hw=(5, 6), channels=4, kernel=3, pad="valid"),
    DepthwiseCase("saturate", hw=(4, 4), channels=4, kernel=3, extreme=True, gain=40.0),
    DepthwiseCase("positive_shift", hw=(4, 4), channels=2, kernel=1, pad="valid", gain=1e3),
    DepthwiseCase("relu", hw=(5, 5), channels=6, kernel=3, relu=True),
    # paths of the Cortex-M DSP kernel (cortex_m/tc_depthwise_conv2d_s8.c): groups of 4 channels with 1, 2, 3
    # channels left over, 3x3 / 5x5 / 7x7 at stride 1 and 2, the general output stage, more taps than its table
    DepthwiseCase("dsp_k3_c20", hw=(7, 6), channels=20, kernel=3),
    DepthwiseCase("dsp_k3_stride2_c13", hw=(9, 8), channels=13, kernel=3, stride=2),
    DepthwiseCase("dsp_k5_c10", hw=(8, 7), channels=10, kernel=5),
    DepthwiseCase("dsp_k5_stride2_asym_c8", hw=(10, 9), channels=8, kernel=5, stride=2, pad=(1, 2, 2, 1)),
    DepthwiseCase("dsp_k7_c11", hw=(9, 10), channels=11, kernel=7),
    DepthwiseCase("dsp_k7_stride2_c12", hw=(13, 12), channels=12, kernel=7, stride=2),
    DepthwiseCase("dsp_dilation2_c8", hw=(9, 9), channels=8, kernel=3, dilation=2),
    DepthwiseCase("dsp_relu_c8", hw=(5, 6), channels=8, kernel=3, relu=True),
    DepthwiseCase("dsp_saturate_c8", hw=(4, 5), channels=8, kernel=3, extreme=True, gain=40.0),
    DepthwiseCase("dsp_multiplier3_c5", hw=(6, 7), channels=5, kernel=3, depth_multiplier=3),
    DepthwiseCase("dsp_k9_c8", hw=(10, 9), channels=8, kernel=9),
    # its row-run path: the DS-CNN shape, rows wider than its per-pixel table, windows wider than the input
    DepthwiseCase("dsp_dscnn_c8", hw=(25, 5), channels=8, kernel=3),
    DepthwiseCase("dsp_k3_wide_c4", hw=(3, 70), channels=4, kernel=3),
    DepthwiseCase("dsp_k3_narrow_c4", hw=(6, 2), channels=4, kernel=3),
]
