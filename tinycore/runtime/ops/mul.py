"""mul_s8: TFLite MUL (int8), same shape or a (1, ..., 1, C) vector broadcast (squeeze-and-excitation)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize


def mul_s8(a, b, input1_zp: int, input2_zp: int, output_zp: int, mult: int, shift: int, act_min: int,
           act_max: int) -> NDArray[np.int8]:
    """(a - zp1) * (b - zp2) in int32, requantized by s1 * s2 / s_out (MultiplyByQuantizedMultiplier)."""
    prod = (np.asarray(a, dtype=np.int64) - input1_zp) * (np.asarray(b, dtype=np.int64) - input2_zp)
    y = requantize(prod, mult, shift) + output_zp
    return np.clip(y, act_min, act_max).astype(np.int8)
