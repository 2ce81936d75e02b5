"""logistic_s8 and hard_swish_s8: TFLite Micro's int8 reference arithmetic, bit for bit.

Both are functions of one int8 value, so the C export tabulates them (`lookup_table`: all 256 inputs through
these very functions) and the kernel only looks up; the arithmetic has this one definition.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import (INT32_MAX, requantize, rounding_divide_by_pot,
                                         saturating_rounding_doubling_high_mul as srdhm)
from tinycore.runtime.ops.softmax import exp_on_negative_values, one_over_one_plus_x

_LOGISTIC_INPUT_INT_BITS = 4


def logistic_s8(x, input_zp: int, input_mult: int, input_left_shift: int,
                input_range_radius: int) -> NDArray[np.int8]:
    """reference_integer_ops::Logistic: input to Q4.27, gemmlowp logistic to Q0.31, output scale 1/256, zp -128."""
    d = np.asarray(x, dtype=np.int64) - input_zp
    q4 = requantize(np.clip(d, -input_range_radius, input_range_radius), input_mult, input_left_shift)
    magnitude = np.where(q4 > 0, q4, -q4)
    positive = one_over_one_plus_x(exp_on_negative_values(-magnitude, _LOGISTIC_INPUT_INT_BITS))
    q0 = np.where(q4 == 0, 1 << 30, np.where(q4 > 0, positive, INT32_MAX - positive))
    y = np.clip(rounding_divide_by_pot(q0, 31 - 8) - 128, -128, 127)
    y = np.where(d <= -input_range_radius, -128, np.where(d >= input_range_radius, 127, y))
    return y.astype(np.int8)


def _srdhm16(a: NDArray, b: NDArray) -> NDArray[np.int64]:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    ab = np.asarray(a, dtype=np.int64) * b
    num = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(num >= 0, num >> 15, -((-num) >> 15))  # C division truncates
    return np.where((a == -32768) & (b == -32768), 32767, q)


def _sdhm16(a: NDArray, b: NDArray) -> NDArray[np.int64]:
    """TFLite SaturatingDoublingHighMul on int16: like the above but truncating (no rounding nudge)."""
    ab = np.asarray(a, dtype=np.int64) * b
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, q)


def _sat_shl16(x: NDArray, amount: int) -> NDArray[np.int64]:
    return np.clip(np.asarray(x, dtype=np.int64) << amount, -32768, 32767)


def hard_swish_s8(x, input_zp: int, output_zp: int, output_mult: int, output_exponent: int, reluish_mult: int,
                  reluish_exponent: int) -> NDArray[np.int8]:
    """reference_ops::HardSwish for int8: x * relu6(x + 3) / 6 in int16 fixed point (Q15 multipliers)."""
    hires = (np.asarray(x, dtype=np.int64) - input_zp) * 128
    preshift = _srdhm16(hires, output_mult)
    reluish = hires
    if reluish_exponent > 0:
        reluish = _sat_shl16(reluish, reluish_exponent - 1)
    reluish = _srdhm16(reluish, reluish_mult)
    if reluish_exponent > 0:
        reluish = _sat_shl16(reluish, 1)
    if reluish_exponent < 0:
        reluish = rounding_divide_by_pot(reluish, -reluish_exponent)
    reluish = (reluish + (1 << 15)) >> 1
    y = rounding_divide_by_pot(_sdhm16(reluish, preshift), -output_exponent) + output_zp
    return np.clip(y, -128, 127).astype(np.int8)


def lookup_table(fn, attrs: dict) -> NDArray[np.int8]:
    """The op's output for every int8 input, -128 first: what the C kernel indexes by (x + 128)."""
    return fn(np.arange(-128, 128, dtype=np.int64).astype(np.int8), **attrs)
