"""Float features -> the model's int8 input, as TFLite's QUANTIZE does; C twin: tc_frontend_quantize_s8.

q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127), the division done in float32 (so numpy
and C see the same quotient bit for bit, and C's roundf gives the same integer). Features computed by torch and by
the C front end differ by float error, which flips a value that sits at a rounding boundary by one step; the
tests measure how often.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import UnsupportedError


def round_half_away_s32(v: NDArray[np.float32]) -> NDArray[np.int64]:
    """C roundf on float32 values, exactly (no x + 0.5 that can round up 0.49999997)."""
    v = np.asarray(v, dtype=np.float32)
    whole = np.trunc(v)
    frac = v - whole  # exact in float32
    return (whole + np.where(np.abs(frac) >= np.float32(0.5), np.sign(v), 0)).astype(np.int64)


def quantize_features_s8(x: NDArray, scale: float, zero_point: int) -> NDArray[np.int8]:
    """Float32 features (any shape) -> int8 with the model input's (scale, zero_point)."""
    if not scale > 0 or not np.isfinite(scale):
        raise UnsupportedError(f"input scale {scale} must be a positive finite number")
    if not -128 <= zero_point <= 127:
        raise UnsupportedError(f"input zero point {zero_point} outside int8 range [-128, 127]")
    q = np.asarray(x, dtype=np.float32) / np.float32(scale)
    q = np.clip(q, -1e9, 1e9)  # keeps the int conversion defined; C clamps before converting too
    return np.clip(round_half_away_s32(q) + int(zero_point), -128, 127).astype(np.int8)
