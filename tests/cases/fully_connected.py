"""fully_connected_s8 shapes shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, single_op, weights, zero_point
from tests.cases.conv2d import override_requant
from tinycore.ir import Graph
from tinycore.runtime.fixedpoint import INT32_MAX, INT32_MIN


@dataclass(frozen=True)
class FullyConnectedCase:
    name: str
    in_shape: tuple[int, ...]  # (1, ...) flattened in row-major order
    n_out: int
    per_token: bool = False  # weights take the last axis only: one output row per token (x (1, T, N) -> (1, T, O))
    gain: float = 1.0
    extreme: bool = False
    relu: bool = False
    weight_std: float = 45.0
    # Explicit output stages, as in Conv2dCase: per-output (mult, shift) cycled, a clamp, an output zero point,
    # (output, bias) pairs with all-zero weights (accumulator exactly bias).
    mult_shift: tuple[tuple[int, int], ...] = ()
    clamp: tuple[int, int] | None = None
    output_zp: int | None = None
    exact_bias: tuple[tuple[int, int], ...] = ()

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        n_in = self.in_shape[-1] if self.per_token else int(np.prod(self.in_shape))
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        wt = weights(rng, (self.n_out, n_in), self.extreme, self.weight_std)
        acc_std = 70.0 * np.sqrt(n_in) * max(float(np.abs(wt).mean()), 1.0)
        mult, shift = requant(rng, self.n_out, acc_std, self.gain)
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, self.n_out).astype(np.int32)
        out_zp = out_zp if self.output_zp is None else self.output_zp
        mult, shift = override_requant(mult, shift, self.mult_shift)
        for o, b in self.exact_bias:
            wt[o] = 0
            bias[o] = b
        act_min, act_max = self.clamp or (out_zp if self.relu else -128, 127)
        attrs = dict(input_zp=in_zp, output_zp=out_zp, act_min=act_min, act_max=act_max)
        consts = [const("w", wt), const("bias", bias), const("mult", mult), const("shift", shift)]
        return single_op("fully_connected_s8", act("x", self.in_shape, in_zp), consts, attrs, out_zp)


FC_CASES = [
    FullyConnectedCase("vector", in_shape=(1, 64), n_out=10),
    FullyConnectedCase("flatten_4d", in_shape=(1, 4, 4, 3), n_out=7),
    FullyConnectedCase("wide", in_shape=(1, 640), n_out=128, relu=True),
    FullyConnectedCase("single_output", in_shape=(1, 33), n_out=1),
    FullyConnectedCase("saturate", in_shape=(1, 50), n_out=5, extreme=True, gain=30.0),
    FullyConnectedCase("positive_shift", in_shape=(1, 1), n_out=4, gain=1e3),
    # Output stages outside the DSP kernel's fast path, one reason per output (see CONV2D_CASES
    # "requant_fallbacks"), then the fast path at its edges, then a clamp narrower than int8 at both ends.
    FullyConnectedCase("requant_fallbacks", in_shape=(1, 37), n_out=8, weight_std=2.0, output_zp=-20,
                       mult_shift=((INT32_MIN, 1), (INT32_MIN, -6), (-(1 << 30), -5), (1 << 30, -1), (1 << 30, 0),
                                   (1 << 24, 3), (INT32_MAX, -24), (0, -5)),
                       exact_bias=((0, -(1 << 30)),)),
    FullyConnectedCase("requant_fallbacks_zp_pos", in_shape=(1, 37), n_out=8, weight_std=2.0, output_zp=20,
                       mult_shift=((INT32_MIN, 1), (INT32_MIN, -6), (-(1 << 30), -5), (1 << 30, -1), (1 << 30, 0),
                                   (1 << 24, 3), (INT32_MAX, -24), (0, -5)),
                       exact_bias=((0, -(1 << 30)),)),
    FullyConnectedCase("requant_fast_edges", in_shape=(1, 300), n_out=6, extreme=True, output_zp=-128,
                       mult_shift=((INT32_MAX, -23), (INT32_MAX, -2), (0, -9), (1 << 30, -16), (1 << 30, -23),
                                   (1 << 30, -2)),
                       exact_bias=((1, -INT32_MAX), (4, 3 << 23))),
    FullyConnectedCase("relu6_like_clamp", in_shape=(1, 45), n_out=6, clamp=(-20, 90)),
    # Per token (Keras Dense on (1, T, D), TFLite keep_num_dims): the same weights on every row of the last axis.
    FullyConnectedCase("tokens", per_token=True, in_shape=(1, 6, 8), n_out=12),
    FullyConnectedCase("tokens_odd_relu", per_token=True, in_shape=(1, 7, 33), n_out=5, relu=True),
    FullyConnectedCase("tokens_4d", per_token=True, in_shape=(1, 2, 3, 7), n_out=9),
    FullyConnectedCase("tokens_saturate", per_token=True, in_shape=(1, 4, 50), n_out=3, extreme=True, gain=30.0),
    # token overwriting (tinycore.memory.rules.per_token_fc): the planner runs these in place, forward and backward
    FullyConnectedCase("tokens_shrink", per_token=True, in_shape=(1, 16, 24), n_out=16),
    FullyConnectedCase("tokens_expand", per_token=True, in_shape=(1, 10, 8), n_out=32),
]
