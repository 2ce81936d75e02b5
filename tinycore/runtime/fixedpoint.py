"""The integer arithmetic every op shares, as TFLite Micro and CMSIS-NN define it (gemmlowp rounding).

Its C twin is `tc_fixedpoint.h`; no other code in the project rounds. All functions work on numpy arrays and
compute in int64 so that the int32 results are exact, including the wrap-around of an int32 left shift.
`quantize_float_s8` is the one float -> int8 quantizer (model inputs, audio features, activation clamps).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import UnsupportedError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def wrap_int32(x: NDArray) -> NDArray[np.int64]:
    """Two's-complement wrap to int32 range (what int32 C arithmetic does), kept as int64."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def saturating_rounding_doubling_high_mul(a: NDArray, b: NDArray) -> NDArray[np.int64]:
    """(a * b * 2 + 2**31 rounding) >> 32 with the single overflow case (MIN * MIN) saturated."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    # C division truncates toward zero
    q = np.where(num >= 0, num >> 31, -((-num) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, q)


def rounding_divide_by_pot(x: NDArray, exponent: NDArray) -> NDArray[np.int64]:
    """x / 2**exponent rounded half away from zero (gemmlowp RoundingDivideByPOT), exponent in [0, 31]."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def requantize(acc: NDArray, mult: NDArray, shift: NDArray) -> NDArray[np.int64]:
    """Scale accumulators by mult * 2**(shift - 31).

    Rounds twice (doubling high multiply, then rounding shift) as TFLite Micro does; one rounding differs by
    1 LSB on some inputs. A positive shift is a left shift of the int32 input before the multiply (it wraps as
    int32 does in C); a negative one is a rounding right shift after it.
    """
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(np.asarray(acc, dtype=np.int64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, mult), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Real multiplier -> (Q31 multiplier, shift) with real ~= mult * 2**(shift - 31), as TFLite's
    QuantizeMultiplier: frexp, round half away from zero, renormalize 2**31, flush tiny values to zero. Like
    the double-rounding TFLite Micro build, a shift above 30 is kept (TFLite clamps it only with single rounding)."""
    if real == 0.0:
        return 0, 0
    if real < 0:
        raise ValueError(f"multiplier must be non-negative, got {real}")
    frac, shift = math.frexp(real)
    q = int(math.floor(frac * (1 << 31) + 0.5))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def clamp_to(x: NDArray, lo: int, hi: int, dtype=np.int8) -> NDArray:
    return np.clip(x, lo, hi).astype(dtype)


def round_div_away(acc: NDArray, count: NDArray | int) -> NDArray[np.int64]:
    """(acc ± count/2) / count with C truncation: TFLite's rounded integer average."""
    acc = np.asarray(acc, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    half = count // 2
    pos = (acc + half) // count
    neg = -((-(acc - half)) // count)
    return np.where(acc > 0, pos, neg)


# |x / scale| beyond this saturates for every int8 zero point; clamping the quotient here first keeps the float ->
# int conversion exact and defined (C converts only in-range values) and sends +-inf to the int8 limits.
_QUOTIENT_LIMIT = np.float32(512.0)


def quantize_float_s8(x: NDArray | float, scale: float, zero_point: int) -> NDArray[np.int8]:
    """Float -> int8 as TFLite QUANTIZE does it in C: clamp(roundf(x_f32 / scale_f32) + zero_point, -128, 127).

    The quotient is one float32 division (what C computes on float operands), rounded half away from zero
    exactly as C roundf: from the float32 fraction, never x + 0.5 (which rounds 0.49999997 up to 1). Policy for
    non-finite input: +-inf saturate to 127 / -128, NaN gives zero_point (real 0). C twin: tc_quantize_float_s8.
    x: any shape; returns int8 of the same shape.
    """
    if not (np.isfinite(scale) and scale > 0):
        raise UnsupportedError(f"quantization scale {scale} must be a positive finite number")
    if not -128 <= int(zero_point) <= 127:
        raise UnsupportedError(f"quantization zero point {zero_point} outside int8 range [-128, 127]")
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    nan = np.isnan(v)
    v = np.clip(np.where(nan, np.float32(0), v), -_QUOTIENT_LIMIT, _QUOTIENT_LIMIT)
    whole = np.trunc(v)
    frac = v - whole  # exact in float32 for |v| <= 512
    q = whole.astype(np.int64) + (frac >= np.float32(0.5)) - (frac <= np.float32(-0.5))
    return np.clip(q + int(zero_point), -128, 127).astype(np.int8)
