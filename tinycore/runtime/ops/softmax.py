"""softmax_s8: TFLite Micro's int8 softmax (reference_ops::Softmax), gemmlowp fixed point, bit for bit.

The input difference to the row maximum is rescaled to Q5.26 by `input_mult` / `input_left_shift`, exp() is
gemmlowp's `exp_on_negative_values`, the sum of exps is accumulated in Q12.19 and inverted with TFLite's
`GetReciprocal` (Newton-Raphson in Q2.29). Output scale is 1/256 with zero point -128. Differences below
`diff_min` give exactly -128 (their exp is not accumulated either). Its C twin is `tc_softmax_s8.c`.

With int8 input the difference to the row maximum takes at most 256 values, so exp() is a table of them
(`softmax_exp_table`), made once per op: here and at export, where it becomes a Flash array the C kernel indexes
instead of evaluating gemmlowp's exp twice per element (the same values, so the same bytes).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import (INT32_MAX, INT32_MIN, rounding_divide_by_pot,
                                         saturating_rounding_doubling_high_mul as srdhm, wrap_int32)

_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
               (3, 720401), (4, 242))  # Q0.31 exp(-2**k) for the set bits of the integer part
_SCALED_DIFF_INT_BITS = 5
_ACCUM_INT_BITS = 12


def _sat_shl(x: NDArray, exponent: int) -> NDArray[np.int64]:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: a saturating left shift."""
    x = np.asarray(x, dtype=np.int64)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def _exp_on_interval(a: NDArray) -> NDArray[np.int64]:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap_int32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap_int32(srdhm(wrap_int32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap_int32(constant_term + srdhm(constant_term, wrap_int32(x + poly)))


def exp_on_negative_values(a: NDArray, integer_bits: int = _SCALED_DIFF_INT_BITS) -> NDArray[np.int64]:
    """gemmlowp exp_on_negative_values for a <= 0 with `integer_bits` (Q5.26 for softmax, Q4.27 for logistic);
    result Q0.31. The barrel shifter only has the steps below the input's integer bits (as gemmlowp)."""
    a = np.asarray(a, dtype=np.int64)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod = wrap_int32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_interval(_sat_shl(a_mod, integer_bits))
    remainder = wrap_int32(a_mod - a)
    for exponent, multiplier in _EXP_BARREL:
        if exponent >= integer_bits:
            break
        bit = (remainder & (1 << (frac_bits + exponent))) != 0
        result = np.where(bit, srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x(a: NDArray) -> NDArray[np.int64]:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1: Q0.31 in and out, three Newton-Raphson steps in Q2.29."""
    a = np.asarray(a, dtype=np.int64)
    half_denominator = (a + INT32_MAX + 1) // 2  # RoundingHalfSum(a, 1.0); a >= 0 so the sum is positive
    x = wrap_int32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap_int32((1 << 29) - srdhm(half_denominator, x))
        x = wrap_int32(x + _sat_shl(srdhm(x, one_minus), 2))
    return _sat_shl(x, 1)


def get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    """TFLite GetReciprocal: (Q0.31 scale, num_bits_over_unit) with 1/x ~= scale * 2**-num_bits_over_unit."""
    headroom_plus_one = 32 - int(x).bit_length()  # count leading zeros of a positive int32
    shifted = ((int(x) << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    return int(one_over_one_plus_x(shifted)), x_integer_digits - headroom_plus_one


def softmax_exp_table(input_mult: int, input_left_shift: int, diff_min: int) -> NDArray[np.int64]:
    """exp of the rescaled difference (Q0.31) for d = max - x = 0 .. 255, 0 where -d < diff_min.

    A zero entry gives exactly what TFLite gives an element below diff_min (nothing added to the sum, output -128),
    so the table needs no length and always has 256 entries: the Flash it takes does not depend on calibration."""
    d = -np.arange(256, dtype=np.int64)
    exps = exp_on_negative_values(srdhm(wrap_int32(d << input_left_shift), input_mult))
    return np.where(d >= diff_min, exps, 0)


def softmax_s8(x, input_mult: int, input_left_shift: int, diff_min: int) -> NDArray[np.int8]:
    """Softmax over the last axis of an int8 tensor of any rank; output has the input's shape."""
    rows = np.asarray(x).reshape(-1, x.shape[-1]).astype(np.int64)
    out = np.empty(rows.shape, dtype=np.int8)
    table = softmax_exp_table(input_mult, input_left_shift, diff_min)
    for r, row in enumerate(rows):
        exps = table[row.max() - row]
        total = int(wrap_int32(np.sum(rounding_divide_by_pot(exps, _ACCUM_INT_BITS))))
        scale, bits_over_unit = get_reciprocal(total, _ACCUM_INT_BITS)
        y = rounding_divide_by_pot(srdhm(scale, exps), bits_over_unit + 31 - 8) - 128
        out[r] = np.clip(y, -128, 127)
    return out.reshape(x.shape)
