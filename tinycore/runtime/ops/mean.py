"""mean_s8: mean over height and width with requantization (TFLite MEAN, int8, axes 1 and 2)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize, round_div_away


def mean_s8(x, **a) -> NDArray[np.int8]:
    """Sum of (x - input_zp) over H*W, scaled by mult/shift (input_scale/output_scale), divided by H*W."""
    n = x.shape[1] * x.shape[2]
    acc = (x[0].astype(np.int64) - a["input_zp"]).sum(axis=(0, 1))
    y = round_div_away(requantize(acc, a["mult"], a["shift"]), n) + a["output_zp"]
    return np.clip(y, -128, 127).astype(np.int8).reshape(1, 1, 1, -1)
