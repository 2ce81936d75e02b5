"""layer_norm_s8: LayerNorm over the last axis in integers only (MCUFormer's integer LayerNorm).

Per row of D int8 values: u = x + 128 (non-negative, so every division is a floor division in C too), the mean in
Q4 is M = round(16 * sum(u) / D), deviations d = 16 u - M (|d| <= 4080), and ssq = sum(d**2) in 64 bits. The
square root of ssq is taken after an even shift e that brings it to [2**28, 2**30): r = isqrt(ssq * 2**e) by
`ISQRT_ITERATIONS` Newton steps from a fixed start, so the cost is fixed. inv = 2**30 // r, and
z = d * inv * 2**(e/2 - 8) = 2**22 * d / sqrt(ssq) (rounded), |z| <= 2**22. Then acc = gamma * z + bias (int32)
and y = requantize(acc, mult, shift) + output_zp. The input scale and zero point cancel (LayerNorm is invariant to
them); the real value is y_real = gamma_real * (x - mean) / std + beta with std = sqrt(ssq / D) in input units, so
the quantizer folds sqrt(D) * 2**-22 * gamma_scale / output_scale into (mult, shift) and beta into bias.
A constant row (ssq = 0) gives z = 0, i.e. beta: the float op's eps only matters there. C twin: tc_layer_norm_s8.c.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import clamp_to, requantize, rounding_divide_by_pot

ISQRT_ITERATIONS = 4  # from start 3 * 2**13 the relative error after 4 steps is < 1e-10 on [2**28, 2**30)
ISQRT_START = 3 << 13
Z_FRAC_BITS = 22  # z = d / sqrt(ssq) in Q22
MEAN_FRAC_BITS = 4


def isqrt_fixed(v: NDArray) -> NDArray[np.int64]:
    """sqrt(v) for v in [2**28, 2**30) by a fixed number of Newton steps (integer division, floor)."""
    v = np.asarray(v, dtype=np.int64)
    r = np.full(v.shape, ISQRT_START, dtype=np.int64)
    for _ in range(ISQRT_ITERATIONS):
        r = (r + v // r) >> 1
    return r


def even_shift(ssq: NDArray) -> NDArray[np.int64]:
    """The even shift e with ssq * 2**e in [2**28, 2**30) (ssq > 0): bit length 29 or 30."""
    bits = np.array([int(s).bit_length() for s in np.asarray(ssq).reshape(-1)], dtype=np.int64).reshape(np.shape(ssq))
    e = 30 - bits
    return e - (e & 1)


def normalized_q22(x: NDArray) -> NDArray[np.int64]:
    """z = 2**22 * (x - mean) / sqrt(sum((x - mean)**2)) per row of the last axis, in integers (see module doc)."""
    d_axis = x.shape[-1]
    u = x.reshape(-1, d_axis).astype(np.int64) + 128
    one = 1 << MEAN_FRAC_BITS
    mean = (2 * one * u.sum(axis=1, keepdims=True) + d_axis) // (2 * d_axis)
    d = one * u - mean
    ssq = (d * d).sum(axis=1, keepdims=True)
    pos = np.maximum(ssq, 1)
    e = even_shift(pos)
    v = np.where(e >= 0, pos << np.maximum(e, 0), pos >> np.maximum(-e, 0))
    inv = (1 << 30) // isqrt_fixed(v)
    prod = d * inv
    s = e // 2 - (30 - Z_FRAC_BITS)
    z = np.where(s >= 0, prod << np.maximum(s, 0), rounding_divide_by_pot(prod, np.maximum(-s, 0)))
    return np.where(ssq == 0, 0, z)


def layer_norm_s8(x, gamma, bias, **a) -> NDArray[np.int8]:
    """x (1, ..., D) int8, gamma (D,) int8 (symmetric), bias (D,) int32 -> (1, ..., D) int8, over the last axis."""
    z = normalized_q22(x)
    acc = gamma.astype(np.int64)[None, :] * z + bias.astype(np.int64)[None, :]
    y = requantize(acc, a["mult"], a["shift"]) + a["output_zp"]
    return clamp_to(y, -128, 127).reshape(x.shape)


def layer_norm_params(gamma: NDArray, beta: NDArray, output_scale: float, output_zp: int) -> dict:
    """Quantize a float LayerNorm's gamma, beta (D,) for layer_norm_s8: gamma symmetric int8 (one scale),
    bias = beta / (gamma_scale * sqrt(D) * 2**-22) in int32, (mult, shift) for the rest; any input scale."""
    from tinycore.runtime.fixedpoint import quantize_multiplier

    gamma = np.asarray(gamma, dtype=np.float64)
    d = gamma.shape[0]
    gamma_scale = max(float(np.abs(gamma).max()), 1e-12) / 127.0
    unit = gamma_scale * np.sqrt(d) * 2.0**-Z_FRAC_BITS  # real value of one accumulator step
    mult, shift = quantize_multiplier(unit / output_scale)
    return dict(gamma=np.clip(np.round(gamma / gamma_scale), -127, 127).astype(np.int8),
                bias=np.round(np.asarray(beta, dtype=np.float64) / unit).astype(np.int64).clip(-2**31, 2**31 - 1)
                .astype(np.int32),
                attrs=dict(output_zp=int(output_zp), mult=mult, shift=shift))
