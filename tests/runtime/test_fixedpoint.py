"""tinycore.runtime.fixedpoint at its edges, against values computed by hand (gemmlowp semantics)."""
import numpy as np

from tinycore.runtime.fixedpoint import (INT32_MAX, INT32_MIN, quantize_multiplier, requantize, round_div_away,
                                         rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap_int32)


def test_doubling_high_mul_saturates_only_min_times_min():
    assert saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    assert saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX) == INT32_MIN + 1  # -(2**31 - 1)
    assert saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX) == INT32_MAX - 1


def test_doubling_high_mul_ties_round_up():
    """gemmlowp's nudge (1 - 2**30 for negative products) sends exact ties toward +infinity."""
    half = 1 << 30  # 0.5 in Q31
    assert saturating_rounding_doubling_high_mul(1, half) == 1  # 0.5 -> 1
    assert saturating_rounding_doubling_high_mul(-1, half) == 0  # -0.5 -> 0
    assert saturating_rounding_doubling_high_mul(3, half) == 2  # 1.5 -> 2
    assert saturating_rounding_doubling_high_mul(-3, half) == -1  # -1.5 -> -1
    assert saturating_rounding_doubling_high_mul(-5, 3 << 29) == -4  # -3.75 -> -4 (not a tie)
    assert saturating_rounding_doubling_high_mul(1, half - 1) == 0  # just under 0.5
    assert saturating_rounding_doubling_high_mul(100, 0) == 0


def test_rounding_divide_by_pot_ties_and_signs():
    x = np.array([5, -5, 6, -6, 7, -7, 4, -4])
    assert rounding_divide_by_pot(x, 1).tolist() == [3, -3, 3, -3, 4, -4, 2, -2]  # 2.5->3, -2.5->-3
    assert rounding_divide_by_pot(np.array([12, -12, 11, -11, 13]), 3).tolist() == [2, -2, 1, -1, 2]
    assert rounding_divide_by_pot(INT32_MIN, 31) == -1
    assert rounding_divide_by_pot(INT32_MAX, 31) == 1
    assert rounding_divide_by_pot(np.array([1 << 30, -(1 << 30)]), 31).tolist() == [1, -1]  # ties at 0.5
    assert rounding_divide_by_pot(np.array([(1 << 30) - 1, -(1 << 30) + 1]), 31).tolist() == [0, 0]
    assert rounding_divide_by_pot(-7, 0) == -7


def test_requantize_positive_and_negative_shifts():
    half = 1 << 30
    assert requantize(10, half, 0) == 5  # 10 * 0.5
    assert requantize(10, half, 2) == 20  # 10 * 0.5 * 4
    assert requantize(10, half, -2) == 1  # 5 / 4 = 1.25 -> 1
    assert requantize(-10, half, -2) == -1
    assert requantize(12, half, -2) == 2  # 6 / 4 = 1.5 -> 2
    assert requantize(-12, half, -2) == -2
    # 3 * 0.5 * 2 = 3; 3 * ~1.0 / 2 = 1.5 -> 2
    assert requantize(np.array([3, 3]), np.array([half, INT32_MAX]), np.array([1, -1])).tolist() == [3, 2]


def test_requantize_left_shift_wraps_like_int32():
    # 3 << 30 = 0xC0000000 wraps to -2**30; * 0.5 = -2**29
    assert wrap_int32(3 << 30) == -(1 << 30)
    assert requantize(3, 1 << 30, 30) == -(1 << 29)
    assert requantize(-1, 1 << 30, 31) == INT32_MIN // 2  # -1 << 31 = INT32_MIN exactly, * 0.5


def test_quantize_multiplier_round_trip_and_edges():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # flushed to zero below 2**-31
    assert quantize_multiplier(1 - 2.0**-40) == (1 << 30, 1)  # rounds up to 1.0 and renormalizes
    m, s = quantize_multiplier(0.1)
    assert m == 1717986918 and s == -3


def test_round_div_away():
    acc = np.array([7, -7, 6, -6, 5, -5, 0, 1, -1])
    assert round_div_away(acc, 2).tolist() == [4, -4, 3, -3, 3, -3, 0, 1, -1]
    assert round_div_away(acc, 4).tolist() == [2, -2, 2, -2, 1, -1, 0, 0, 0]
