"""gelu_s8: GELU as a 256-entry int8 table, exact for int8 in and int8 out.

With int8 in and out there are only 256 inputs, so the table holds the correctly rounded float GELU of each: no
integer approximation can be closer (its error is the output rounding alone, <= 0.5 output LSB). The table is a
constant input of the op (256 B of Flash), built once by `gelu_table` from the tensors' quantization; the kernel is
one load per value. C twin: tc_gelu_s8.c.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import quantize_float_s8


def gelu_float(x: NDArray) -> NDArray[np.float64]:
    """Exact GELU, x * Phi(x) (erf form, as torch.nn.GELU())."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def gelu_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> NDArray[np.int8]:
    """table[q + 128] = quantize(GELU(input_scale * (q - input_zp))) for q in [-128, 127]."""
    q = np.arange(-128, 128, dtype=np.int64)
    real = gelu_float(input_scale * (q - input_zp)).astype(np.float32)
    return quantize_float_s8(real, output_scale, output_zp)


def gelu_s8(x, table, **a) -> NDArray[np.int8]:
    """y = table[x + 128]: any shape in, the same shape out."""
    return np.asarray(table, dtype=np.int8)[x.astype(np.int64) + 128]
