"""Case tables of the transformer ops (MCUFormer, issue #14): layer_norm_s8, gelu_s8, batch_matmul_s8, transpose_s8.

Shared by the runtime, host-C and emulator tests like every table in tests/cases. Edge shapes: one channel (every
row constant, so LayerNorm gives its bias), odd widths, many rows, saturating requantization, transpose_b both ways.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, single_op, weights, zero_point
from tinycore.ir import Graph, Op
from tinycore.runtime.fixedpoint import quantize_multiplier
from tinycore.runtime.ops.gelu import gelu_table


@dataclass(frozen=True)
class LayerNormCase:
    name: str
    shape: tuple[int, ...]
    gain: float = 1.0

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        d = self.shape[-1]
        gamma = weights(rng, (d,))
        acc_std = 45.0 * (1 << 22) / np.sqrt(d)
        mult, shift = requant(rng, 1, acc_std, self.gain)
        bias = rng.integers(-int(acc_std), int(acc_std) + 1, d).astype(np.int32)
        out_zp = zero_point(rng)
        attrs = dict(output_zp=out_zp, mult=int(mult[0]), shift=int(shift[0]))
        return single_op("layer_norm_s8", act("x", self.shape, zero_point(rng)),
                         [const("gamma", gamma), const("bias", bias)], attrs, out_zp)


LAYER_NORM_CASES = [
    LayerNormCase("tokens", shape=(1, 5, 16)),
    LayerNormCase("one_channel", shape=(1, 4, 1)),
    LayerNormCase("odd_width", shape=(1, 3, 37)),
    LayerNormCase("vector", shape=(1, 64)),
    LayerNormCase("deit_width", shape=(1, 2, 192)),
    LayerNormCase("saturate", shape=(1, 3, 24), gain=20.0),
]


@dataclass(frozen=True)
class GeluCase:
    name: str
    shape: tuple[int, ...]
    input_scale: float
    output_scale: float

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        in_zp, out_zp = zero_point(rng), zero_point(rng)
        table = gelu_table(self.input_scale, in_zp, self.output_scale, out_zp)
        return single_op("gelu_s8", act("x", self.shape, in_zp, self.input_scale), [const("table", table)], {},
                         out_zp)


GELU_CASES = [
    GeluCase("tokens", shape=(1, 6, 10), input_scale=0.05, output_scale=0.04),
    GeluCase("wide_range", shape=(1, 33), input_scale=0.2, output_scale=0.1),
    GeluCase("saturate", shape=(1, 2, 3, 4), input_scale=0.5, output_scale=0.01),
]


def _second_operand(g: Graph, a_name: str, b_name: str, transpose: bool, rng: np.random.Generator) -> Graph:
    """Single-input graphs only: b = quantize_s8(a) (its own zero point), through a (0, .., -1, -2) transpose of a
    first when the product takes b untransposed."""
    a, b = g.tensors[a_name], g.tensors[b_name]
    src = a_name
    if transpose:
        rank = len(a.shape)
        perm = (*range(rank - 2), rank - 1, rank - 2)
        g.tensors["aT"] = act("aT", tuple(a.shape[p] for p in perm), a.zero_point, a.scale[0])
        g.ops.insert(0, Op("transpose_s8", "aT", [a_name], ["aT"], dict(perm=perm)))
        src = "aT"
    mult, shift = quantize_multiplier(a.scale[0] / b.scale[0])
    g.ops.insert(1 if transpose else 0, Op("quantize_s8", "to_b", [src], [b_name],
                                           dict(input_zp=a.zero_point, output_zp=b.zero_point, mult=mult, shift=shift)))
    return g


@dataclass(frozen=True)
class BatchMatmulCase:
    name: str
    a_shape: tuple[int, ...]  # (1, ..., M, K); b is derived from a: (1, ..., M, K) for Q K^T, (1, ..., K, M) else
    transpose_b: bool
    gain: float = 0.4  # (a - za)(b - zb) is not zero-mean: a smaller multiplier than the spread suggests
    relu: bool = False

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        za, zb, zo = zero_point(rng), zero_point(rng), zero_point(rng)
        m, k = self.a_shape[-2:]
        b_shape = self.a_shape if self.transpose_b else (*self.a_shape[:-2], k, m)
        mult, shift = requant(rng, 1, 70.0 * 70.0 * np.sqrt(k), self.gain)
        attrs = dict(input1_zp=za, input2_zp=zb, output_zp=zo, mult=int(mult[0]), shift=int(shift[0]),
                     act_min=zo if self.relu else -128, act_max=127, transpose_b=int(self.transpose_b))
        a, b = act("a", self.a_shape, za, 0.05), act("b", b_shape, zb, 0.03)
        g = single_op("batch_matmul_s8", a, [], attrs, zo, extra_inputs=[b])
        return _second_operand(g, "a", "b", not self.transpose_b, rng)


BATCH_MATMUL_CASES = [
    BatchMatmulCase("qk_heads", a_shape=(1, 3, 5, 8), transpose_b=True),
    BatchMatmulCase("av_heads", a_shape=(1, 2, 7, 4), transpose_b=False),
    BatchMatmulCase("single_head_odd", a_shape=(1, 9, 13), transpose_b=True, relu=True),
    BatchMatmulCase("one_token", a_shape=(1, 2, 1, 6), transpose_b=False),
    BatchMatmulCase("saturate", a_shape=(1, 4, 16), transpose_b=True, gain=40.0),
]


@dataclass(frozen=True)
class TransposeCase:
    name: str
    shape: tuple[int, ...]
    perm: tuple[int, ...]

    def make(self, seed: int) -> Graph:
        zp = zero_point(np.random.default_rng(seed))
        return single_op("transpose_s8", act("x", self.shape, zp), [], dict(perm=self.perm), zp)


TRANSPOSE_CASES = [
    TransposeCase("split_heads", shape=(1, 6, 3, 4), perm=(0, 2, 1, 3)),
    TransposeCase("tokens_channels", shape=(1, 5, 7), perm=(0, 2, 1)),
    TransposeCase("rotate", shape=(1, 2, 3, 5), perm=(0, 3, 1, 2)),
    TransposeCase("identity", shape=(1, 9), perm=(0, 1)),
]
