"""mean_s8: mean over height and width (TFLite MEAN, int8, axes 1 and 2), as TFLite Micro computes it.

TFLite Micro (reference_ops::QuantizedMeanOrSum) does not divide after requantizing: it folds 1/(H*W) into the
multiplier. With s = floor(log2(H*W)) (at most 32 and at most 31 + shift), the multiplier becomes
(mult << s) // (H*W) and the shift becomes shift - s; the sum of (x - input_zp) is then requantized once. This
differs by 1 LSB from "requantize, then rounded division" on some inputs, so the C kernel must do the same.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize


def mean_multiplier(mult: int, shift: int, count: int) -> tuple[int, int]:
    """The (multiplier, shift) TFLite Micro applies to a sum of `count` values: 1/count folded in."""
    s = min(count.bit_length() - 1, 32, 31 + shift)
    return (int(mult) << s) // count, shift - s


def mean_s8(x, **a) -> NDArray[np.int8]:
    """x (1,H,W,C) -> (1,1,1,C); `mult`/`shift` encode input_scale / output_scale (TFLite QuantizeMultiplier)."""
    n = x.shape[1] * x.shape[2]
    acc = (x[0].astype(np.int64) - a["input_zp"]).sum(axis=(0, 1))
    mult, shift = mean_multiplier(a["mult"], a["shift"], n)
    y = requantize(acc, mult, shift) + a["output_zp"]
    return np.clip(y, -128, 127).astype(np.int8).reshape(1, 1, 1, -1)
