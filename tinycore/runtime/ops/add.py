"""add_s8: elementwise add of two int8 tensors with different scales (TFLite ADD, int8)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize, wrap_int32


def add_s8(a, b, **p) -> NDArray[np.int8]:
    """Both inputs are shifted left by `left_shift`, rescaled to a common scale, summed, then rescaled."""
    a1 = wrap_int32((a.astype(np.int64) - p["input1_zp"]) << p["left_shift"])
    b1 = wrap_int32((b.astype(np.int64) - p["input2_zp"]) << p["left_shift"])
    sa = requantize(a1, p["input1_mult"], p["input1_shift"])
    sb = requantize(b1, p["input2_mult"], p["input2_shift"])
    y = requantize(wrap_int32(sa + sb), p["output_mult"], p["output_shift"]) + p["output_zp"]
    return np.clip(y, p["act_min"], p["act_max"]).astype(np.int8)
