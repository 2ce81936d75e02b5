"""Integer parameters exactly as TFLite Micro derives them from a model's float32 scales (Prepare functions).

TFLite stores scales, not multipliers: every number here must be what TFLM computes, or our runtime and TFLM
disagree by an LSB. Float32 scales are widened to double where TFLM widens them, and multiplied in float32 where
TFLM does (per-tensor FULLY_CONNECTED). The importer uses these to build the graph; the exporter uses them to
check that the scales it writes reproduce the graph's multipliers.
"""
from __future__ import annotations

import math

import numpy as np

from tinycore.runtime.fixedpoint import quantize_float_s8, quantize_multiplier

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}  # fused activations we express as clamps


def f32(x: float) -> float:
    """The float32 value nearest to x, as a Python float (exact)."""
    return float(np.float32(x))


def conv_multipliers(input_scale: float, weight_scales, output_scale: float, channels: int) -> tuple[list, list]:
    """PopulateConvolutionQuantizationParams (conv, depthwise, per-channel FC): double(in) * double(w) / double(out).

    A single weight scale is broadcast to every channel."""
    ws = [f32(s) for s in weight_scales]
    if len(ws) == 1:
        ws = ws * channels
    pairs = [quantize_multiplier(f32(input_scale) * w / f32(output_scale)) for w in ws]
    return [m for m, _ in pairs], [s for _, s in pairs]


def fc_multipliers(input_scale: float, weight_scales, output_scale: float, channels: int) -> tuple[list, list]:
    """FULLY_CONNECTED: per-channel as conv; per-tensor via GetQuantizedConvolutionMultipler, which multiplies
    input and weight scale in float32 before widening."""
    if len(weight_scales) > 1:
        return conv_multipliers(input_scale, weight_scales, output_scale, channels)
    product = f32(np.float32(input_scale) * np.float32(weight_scales[0]))
    m, s = quantize_multiplier(product / f32(output_scale))
    return [m] * channels, [s] * channels


def requantize_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """QUANTIZE int8 -> int8 and MEAN: QuantizeMultiplier(double(in) / double(out))."""
    return quantize_multiplier(f32(input_scale) / f32(output_scale))


def add_params(scale1: float, scale2: float, output_scale: float) -> dict:
    """ADD int8 (CalculateOpDataAdd): both inputs shifted left 20, rescaled to twice the larger scale."""
    left_shift = 20
    twice_max = 2 * max(f32(scale1), f32(scale2))
    m1, s1 = quantize_multiplier(f32(scale1) / twice_max)
    m2, s2 = quantize_multiplier(f32(scale2) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * f32(output_scale)))
    return {"left_shift": left_shift, "input1_mult": m1, "input1_shift": s1, "input2_mult": m2, "input2_shift": s2,
            "output_mult": mo, "output_shift": so}


def softmax_params(input_scale: float, beta: float) -> dict | None:
    """SOFTMAX int8 (PreprocessSoftmaxScaling, CalculateInputRadius with 5 integer bits); None where TFLM would
    abort (the real multiplier must exceed 1)."""
    real = min(f32(beta) * f32(input_scale) * (1 << 26), (1 << 31) - 1.0)
    if not real > 1.0:
        return None
    mult, left_shift = quantize_multiplier(real)
    radius = math.floor(31.0 * (1 << 26) / (1 << left_shift))
    return {"input_mult": mult, "input_left_shift": left_shift, "diff_min": -radius}


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int] | None:
    """CalculateActivationRangeQuantized for an int8 output: each real bound quantized by the one float quantizer
    (it clamps to [-128, 127]); None for activations we do not support."""
    bounds = {0: (-math.inf, math.inf), 1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}.get(activation)
    if bounds is None:
        return None
    lo, hi = (int(quantize_float_s8(v, scale, zero_point)) for v in bounds)
    return lo, hi


def out_size(padding: str, size: int, kernel: int, stride: int, dilation: int) -> int:
    """ComputeOutSize: SAME -> ceil(size / stride); VALID -> ceil((size - effective kernel + 1) / stride)."""
    eff = (kernel - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size - eff + stride) // stride


def explicit_padding(padding: str, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """(out, before, after) as ComputePaddingHeightWidth: the odd pixel of SAME padding goes after."""
    out = out_size(padding, size, kernel, stride, dilation)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


# --- detection / MobileNetV3 ops (logistic, hard swish, mul) ---


def logistic_params(input_scale: float, input_zp: int) -> dict:
    """LOGISTIC int8 (TFLM CalculateArithmeticOpData): input scale x 2**27 (4 integer bits) as frexp's Q31 and
    exponent, and the radius beyond which the output saturates (CalculateInputRadius, 4 integer bits)."""
    frac, left_shift = math.frexp(float(f32(input_scale)) * (1 << 27))
    mult = math.floor(frac * (1 << 31) + 0.5)  # TfLiteRound of a positive value
    radius = math.floor(15.0 * (1 << 27) / 2.0 ** left_shift)
    return {"input_zp": int(input_zp), "input_mult": mult, "input_left_shift": left_shift,
            "input_range_radius": radius}


def _q15(real: float) -> tuple[int, int]:
    """QuantizeMultiplier then DownScaleInt32ToInt16Multiplier: a Q15 multiplier and its exponent."""
    m32, exponent = quantize_multiplier(real)
    m16 = 32767 if m32 >= 2**31 - 1 - (1 << 15) else (m32 + (1 << 15)) >> 16
    return m16, exponent


def hard_swish_params(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> dict | None:
    """HARD_SWISH int8 (TFLM HardSwishPrepare, float32 scale arithmetic as the C++); None where TFLM refuses (the
    output multiplier's exponent must not be positive)."""
    hires = np.float32(1.0 / 128.0) * np.float32(f32(input_scale))
    out_m, out_e = _q15(float(hires / np.float32(f32(output_scale))))
    relu_m, relu_e = _q15(float(hires / (np.float32(3.0) / np.float32(32768.0))))
    if out_e > 0:
        return None
    return {"input_zp": int(input_zp), "output_zp": int(output_zp), "output_mult": out_m, "output_exponent": out_e,
            "reluish_mult": relu_m, "reluish_exponent": relu_e}


def mul_params(scale1: float, scale2: float, output_scale: float) -> dict:
    """MUL int8: QuantizeMultiplier(double(s1) * double(s2) / double(s_out))."""
    mult, shift = quantize_multiplier(float(f32(scale1)) * float(f32(scale2)) / float(f32(output_scale)))
    return {"mult": mult, "shift": shift}
