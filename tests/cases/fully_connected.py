"""fully_connected_s8 shapes shared by the runtime, host-C and emulator tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, single_op, weights, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class FullyConnectedCase:
    name: str
    in_shape: tuple[int, ...]  # (1, ...) flattened in row-major order
    n_out: int
    gain: float = 1.0
    extreme: bool = False
    relu: bool = False

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        n_in = int(np.prod(self.in_shape))
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        wt = weights(rng, (self.n_out, n_in), self.extreme)
        acc_std = 70.0 * np.sqrt(n_in) * max(float(np.abs(wt).mean()), 1.0)
        mult, shift = requant(rng, self.n_out, acc_std, self.gain)
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, self.n_out).astype(np.int32)
        attrs = dict(input_zp=in_zp, output_zp=out_zp, act_min=out_zp if self.relu else -128, act_max=127)
        consts = [const("w", wt), const("bias", bias), const("mult", mult), const("shift", shift)]
        return single_op("fully_connected_s8", act("x", self.in_shape, in_zp), consts, attrs, out_zp)


FC_CASES = [
    FullyConnectedCase("vector", in_shape=(1, 64), n_out=10),
    FullyConnectedCase("flatten_4d", in_shape=(1, 4, 4, 3), n_out=7),
    FullyConnectedCase("wide", in_shape=(1, 640), n_out=128, relu=True),
    FullyConnectedCase("single_output", in_shape=(1, 33), n_out=1),
    FullyConnectedCase("saturate", in_shape=(1, 50), n_out=5, extreme=True, gain=30.0),
    FullyConnectedCase("positive_shift", in_shape=(1, 1), n_out=4, gain=1e3),
]
