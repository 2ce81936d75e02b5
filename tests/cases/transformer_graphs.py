"""A small int8 transformer built by hand (no torch): patch tokens -> pre-norm blocks -> mean over tokens -> FC.

Each block is LayerNorm -> multi-head self-attention (per-token Q, K, V; heads split by reshape + transpose;
Q K^T; softmax over each row; A V; heads merged) -> projection -> residual add -> LayerNorm -> MLP with GELU ->
residual add. Scales are made up but consistent, as in random_graphs; the graph exercises arena reuse across the
transformer ops, token overwriting and residuals read by two ops.
"""
from __future__ import annotations

import numpy as np

from tests.cases.build import const, requant, weights, zero_point
from tests.cases.random_graphs import GraphBuilder
from tests.cases.softmax import softmax_params
from tinycore.ir import Graph
from tinycore.runtime.ops.gelu import gelu_table


class TransformerBuilder(GraphBuilder):
    def layer_norm(self) -> str:
        d = self.shape[-1]
        prefix = f"ln{len(self.g.ops)}"
        acc_std = 45.0 * (1 << 22) / np.sqrt(d)
        mult, shift = requant(self.rng, 1, acc_std)
        for part, arr in (("g", weights(self.rng, (d,))),
                          ("b", self.rng.integers(-int(acc_std), int(acc_std) + 1, d).astype(np.int32))):
            self.g.tensors[f"{prefix}.{part}"] = const(f"{prefix}.{part}", arr)
        zp = zero_point(self.rng)
        return self._op("layer_norm_s8", [self.cur, f"{prefix}.g", f"{prefix}.b"],
                        dict(output_zp=zp, mult=int(mult[0]), shift=int(shift[0])), zp, 0.05)

    def gelu(self) -> str:
        src = self.g.tensors[self.cur]
        zp, scale = zero_point(self.rng), 0.04
        name = f"gelu{len(self.g.ops)}.table"
        self.g.tensors[name] = const(name, gelu_table(src.scale[0], src.zero_point, scale, zp))
        return self._op("gelu_s8", [self.cur, name], {}, zp, scale)

    def transpose(self, perm: tuple[int, ...]) -> str:
        return self._op("transpose_s8", [self.cur], dict(perm=perm))

    def matmul(self, a: str, b: str, transpose_b: bool) -> str:
        ta, tb = self.g.tensors[a], self.g.tensors[b]
        zp = zero_point(self.rng)
        mult, shift = requant(self.rng, 1, 60.0 * 60.0 * np.sqrt(ta.shape[-1]), 0.4)
        self.cur = a
        return self._op("batch_matmul_s8", [a, b], dict(
            input1_zp=ta.zero_point, input2_zp=tb.zero_point, output_zp=zp, mult=int(mult[0]), shift=int(shift[0]),
            act_min=-128, act_max=127, transpose_b=int(transpose_b)), zp, 0.1)

    def softmax(self) -> str:
        return self._op("softmax_s8", [self.cur], softmax_params(self.g.tensors[self.cur].scale[0]), -128, 1 / 256)

    def heads(self, src: str, n_heads: int) -> str:
        """(1, T, D) -> (1, H, T, D / H)."""
        self.cur = src
        _, t, d = self.shape
        self.reshape((1, t, n_heads, d // n_heads))
        return self.transpose((0, 2, 1, 3))

    def attention(self, n_heads: int) -> str:
        src = self.cur
        _, t, d = self.shape
        qkv = []
        for _ in range(3):
            self.cur = src
            qkv.append(self.heads(self.fc_tokens(d), n_heads))
        q, k, v = qkv
        self.matmul(q, k, transpose_b=True)
        self.softmax()
        self.matmul(self.cur, v, transpose_b=False)
        self.transpose((0, 2, 1, 3))
        self.reshape((1, t, d))
        return self.fc_tokens(d)

    def block(self, n_heads: int, mlp_ratio: int) -> str:
        block_in = self.cur
        self.layer_norm()
        self.attention(n_heads)
        mid = self.add(block_in)
        self.layer_norm()
        self.fc_tokens(self.shape[-1] * mlp_ratio)
        self.gelu()
        self.fc_tokens(self.g.tensors[mid].shape[-1])
        return self.add(mid)


def transformer_graph(seed: int, tokens: int = 6, dim: int = 16, n_heads: int = 2, depth: int = 2,
                      classes: int = 5, mlp_ratio: int = 2) -> Graph:
    b = TransformerBuilder(np.random.default_rng(seed), (1, tokens, dim))
    for _ in range(depth):
        b.block(n_heads, mlp_ratio)
    b.layer_norm()
    b.reshape((1, tokens, 1, dim))
    b.mean()
    b.reshape((1, dim))
    b.fc(classes)
    return b.finish()
