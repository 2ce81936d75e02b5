"""batch_matmul_s8: a product of two int8 activations per batch (attention's Q K^T and A V).

a (1, ..., M, K) and b (1, ..., K, N), or b (1, ..., N, K) with transpose_b = 1 (K^T needs no transpose op);
the leading axes must be equal (no broadcasting). acc = sum_k (a - input1_zp) (b - input2_zp) in int32, then one
per-tensor requantization (mult, shift), output zero point and clamp, as TFLite BATCH_MATMUL int8.
C twin: tc_batch_matmul_s8.c.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import clamp_to, requantize


def batch_matmul_s8(a, b, **p) -> NDArray[np.int8]:
    x = a.astype(np.int64) - p["input1_zp"]
    y = b.astype(np.int64) - p["input2_zp"]
    if p["transpose_b"]:
        y = np.swapaxes(y, -1, -2)
    acc = np.matmul(x, y)
    out = requantize(acc, p["mult"], p["shift"]) + p["output_zp"]
    return clamp_to(out, p["act_min"], p["act_max"])
