"""Quantization parameters: activation scale/zero point, per-channel int8 weights, int32 bias, Q31 multipliers.

Every scale is a float32 value (what a .tflite file stores) and every multiplier is computed in double from those
float32 scales in TFLite Micro's order, so a graph exported to .tflite gets the very same multipliers in TFLM.
"""
from __future__ import annotations

import numpy as np

from tinycore.runtime.fixedpoint import quantize_float_s8, quantize_multiplier

QMIN, QMAX = -128, 127
WEIGHT_MAX = 127  # symmetric weights use [-127, 127] (CMSIS-NN / TFLite per-channel convention)
INT32_MAX = 2**31 - 1


def f32(x: float | np.ndarray) -> np.ndarray:
    """Round to float32 and back: the value a float32 scale field really holds."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round half away from zero (TfLiteRound, std::round) rather than numpy's half to even, in double: for the
    converter's parameters (zero points, weights, biases). Float activations go through quantize_float_s8."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] widened to include 0 (so 0.0 is exact: padding,
    ReLU). A range of zero width (a dead tensor) gets the scale of [0, 1]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0:
        hi = 1.0
    scale = float(f32((hi - lo) / (QMAX - QMIN)))
    if scale == 0.0:  # below float32's smallest value
        scale = float(np.finfo(np.float32).tiny)
    zp = int(np.clip(round_half_away(QMIN - lo / scale), QMIN, QMAX))
    return scale, zp


def quantize_weights(w: np.ndarray, b: np.ndarray, in_scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-output-channel symmetric int8 weights and int32 bias (scale in_scale * w_scale[c]).

    w: (Co, ...) float64 in any layout with the output channel first. Returns (w_q int8 same shape, w_scale
    float64 (Co,) float32-representable, b_q int32 (Co,)). A channel whose bias would not fit int32 gets a larger
    weight scale (as the TFLite converter does); an all-zero channel gets scale 1/127.
    """
    co = w.shape[0]
    wmax = np.abs(w.reshape(co, -1)).max(axis=1)
    w_scale = f32(np.where(wmax > 0, wmax / WEIGHT_MAX, 1.0 / WEIGHT_MAX))
    need = f32(np.abs(b) / (in_scale * INT32_MAX) * 1.01)  # smallest weight scale whose bias fits int32
    w_scale = np.where(w_scale * in_scale * INT32_MAX < np.abs(b), need, w_scale)
    w_scale = np.maximum(w_scale, np.finfo(np.float32).tiny)
    shape = (co,) + (1,) * (w.ndim - 1)
    w_q = np.clip(round_half_away(w / w_scale.reshape(shape)), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
    b_q = np.clip(round_half_away(b / (float(in_scale) * w_scale)), -INT32_MAX, INT32_MAX).astype(np.int32)
    return w_q, w_scale, b_q


def requant_multipliers(in_scale: float, w_scale: np.ndarray, out_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel Q31 (mult, shift) for M = in_scale * w_scale[c] / out_scale, in double as TFLite Micro's
    PopulateConvolutionQuantizationParams computes it from the float32 scales."""
    pairs = [quantize_multiplier(float(in_scale) * float(s) / float(out_scale)) for s in w_scale]
    mult = np.array([p[0] for p in pairs], dtype=np.int32)
    shift = np.array([p[1] for p in pairs], dtype=np.int32)
    return mult, shift


def activation_clamp(act: dict | None, scale: float, zp: int) -> tuple[int, int]:
    """Fused clamp [lo, hi] (real units) -> (act_min, act_max) on the int8 output, as TFLite's
    CalculateActivationRangeQuantized: zero_point + round(f / scale) in float32, limited to [-128, 127] (the
    float quantizer; an infinite bound saturates). A clamp the calibrated range lies outside of gets the int8
    value nearest to it, lo <= hi keeps act_min <= act_max."""
    if act is None:
        return QMIN, QMAX
    return int(quantize_float_s8(act["lo"], scale, zp)), int(quantize_float_s8(act["hi"], scale, zp))


def add_params(s1: float, z1: int, s2: float, z2: int, s_out: float, z_out: int) -> dict[str, int]:
    """TFLite int8 ADD (PrepareGeneralSubgraph): left_shift 20, inputs rescaled to twice the larger input scale."""
    left_shift = 20
    twice_max = 2.0 * max(float(s1), float(s2))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * float(s_out)))
    return {"input1_zp": int(z1), "input2_zp": int(z2), "output_zp": int(z_out), "left_shift": left_shift,
            "input1_mult": m1, "input1_shift": sh1, "input2_mult": m2, "input2_shift": sh2,
            "output_mult": mo, "output_shift": sho}
