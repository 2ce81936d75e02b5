"""conv2d_s8 edge shapes shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, same_pads, single_op, weights, zero_point
from tinycore.ir import Graph
from tinycore.runtime.fixedpoint import INT32_MAX, INT32_MIN


def override_requant(mult: np.ndarray, shift: np.ndarray,
                     mult_shift: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mult, shift) pairs cycled over the channels in place of the random ones (if any are given)."""
    if not mult_shift:
        return mult, shift
    pairs = [mult_shift[c % len(mult_shift)] for c in range(len(mult))]
    return np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32)


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
    # Explicit output stages the random builder never picks (each reaches a fallback of the C kernels' fused
    # requantization): per-channel (Q31 mult, shift) cycled over the output channels, a clamp (act_min, act_max),
    # an output zero point, and (channel, bias) pairs whose weights are all zero so the accumulator is exactly bias.
    mult_shift: tuple[tuple[int, int], ...] = ()
    clamp: tuple[int, int] | None = None
    output_zp: int | None = None
    exact_bias: tuple[tuple[int, int], ...] = ()

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
        out_zp = out_zp if self.output_zp is None else self.output_zp
        mult, shift = override_requant(mult, shift, self.mult_shift)
        for c, b in self.exact_bias:
            wt[c] = 0
            bias[c] = b
        act_min, act_max = self.clamp or (max(out_zp, -128) if self.relu else -128, 127)
        attrs = dict(stride_h=sh, stride_w=sw, dilation_h=self.dilation, dilation_w=self.dilation, pad_top=pt,
                     pad_bottom=pb, pad_left=pl, pad_right=pr, input_zp=in_zp, output_zp=out_zp,
                     act_min=act_min, act_max=act_max)
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
    # Output stages outside the kernels' fast path (multiplier >= 0, shift in [-23, -2], clamp = int8 range), one
    # reason per channel: the saturating INT32_MIN * INT32_MIN product (accumulator -2**30 shifted left by 1; the
    # exporter refuses a bias of INT32_MIN itself), other negative multipliers, shift -1, 0 and > 0 (an
    # unnormalized small multiplier, so outputs do not all saturate), shift < -23; and a zero multiplier.
    # 25 pixels: blocks and the single-pixel path. Output zero point > 0: the saturated INT32_MAX plus the zero
    # point must clamp to 127, not wrap (tc_output_s8 forms the sum in 64 bits, as the runtime does).
    Conv2dCase("requant_fallbacks", hw=(5, 5), cin=8, cout=8, kernel=1, pad="valid", weight_std=3.0, output_zp=20,
               mult_shift=((INT32_MIN, 1), (INT32_MIN, -6), (-(1 << 30), -5), (1 << 30, -1), (1 << 30, 0),
                           (1 << 24, 3), (INT32_MAX, -24), (0, -5)),
               exact_bias=((0, -(1 << 30)),)),
    # The fast path at its edges: shift -2 and -23, multiplier 0 and INT32_MAX, output zero point 127 / -128,
    # extreme weights; accumulators pinned to a rounding tie at shift -23 (+-3 * 2**23 with multiplier 0.5 ->
    # +-1.5 -> +-2) and to +-INT32_MAX (the largest products the exporter allows).
    Conv2dCase("requant_fast_edges_zp_max", hw=(6, 5), cin=32, cout=6, kernel=3, extreme=True, output_zp=127,
               mult_shift=((INT32_MAX, -23), (INT32_MAX, -2), (0, -9), (1 << 30, -12), (1 << 30, -23),
                           (1 << 30, -2)),
               exact_bias=((4, -3 << 23),)),
    Conv2dCase("requant_fast_edges_zp_min", hw=(4, 4), cin=20, cout=4, kernel=3, extreme=True, output_zp=-128,
               mult_shift=((INT32_MAX, -23), (1 << 30, -16), (1 << 30, -23), (INT32_MAX, -2)),
               exact_bias=((0, INT32_MAX), (2, 3 << 23), (3, -INT32_MAX))),
    Conv2dCase("relu6_like_clamp", hw=(7, 6), cin=12, cout=5, kernel=3, stride=2, clamp=(-100, 40)),
    # Input-channel counts that leave 1, 2 or 3 values of a column after its groups of 4; a single output channel.
    Conv2dCase("pointwise_cin5", hw=(3, 7), cin=5, cout=6, kernel=1, pad="valid"),
    Conv2dCase("pointwise_cin6", hw=(2, 9), cin=6, cout=3, kernel=1, pad="valid"),
    Conv2dCase("pointwise_cin7_cout1", hw=(4, 5), cin=7, cout=1, kernel=1, pad="valid"),
    Conv2dCase("dilation2_cin4", hw=(9, 8), cin=4, cout=3, kernel=3, dilation=2),
]
