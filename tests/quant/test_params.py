"""Quantization parameter rules: zero is exact, scales are float32, bias fits int32, rounding is half away."""
import numpy as np

from tinycore.quant.params import activation_qparams, quantize_weights, requant_multipliers, round_half_away
from tinycore.runtime import quantize_multiplier


def test_activation_range_includes_zero_and_zero_point_is_exact():
    assert activation_qparams(0.0, 6.0) == (float(np.float32(6.0 / 255)), -128)
    assert activation_qparams(2.0, 6.0) == (float(np.float32(6.0 / 255)), -128)  # widened down to 0
    assert activation_qparams(-6.0, -2.0) == (float(np.float32(6.0 / 255)), 127)  # widened up to 0
    s, zp = activation_qparams(-1.0, 3.0)
    assert s == float(np.float32(4.0 / 255)) and zp == -128 + 64  # -128 - (-1) / (4/255) = -64.25 -> -64
    assert activation_qparams(0.0, 0.0) == (float(np.float32(1.0 / 255)), -128)  # dead tensor: any scale works


def test_round_half_away_from_zero():
    assert round_half_away(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.4999])).tolist() == [1, 2, 3, -1, -3, 2]


def test_weights_per_channel_and_bias_overflow_adjusts_scale():
    w = np.array([[0.5, -1.0], [1e-9, 0.0], [0.0, 0.0]])
    b = np.array([0.25, 100.0, 0.0])
    in_scale = 0.01
    w_q, w_scale, b_q = quantize_weights(w, b, in_scale)
    assert w_q[0].tolist() == [64, -127] and w_scale[0] == float(np.float32(1.0 / 127))
    assert abs(int(b_q[1])) <= 2**31 - 1 and abs(b_q[1] * in_scale * w_scale[1] - 100.0) < 1e-3  # bias kept
    assert w_scale[1] > 1e-9 / 127  # scale raised so the bias fits int32
    assert w_q[2].tolist() == [0, 0] and w_scale[2] == float(np.float32(1.0 / 127))
    assert all(float(np.float32(s)) == s for s in w_scale)


def test_requant_multipliers_are_tflm_double_products():
    in_s, out_s = float(np.float32(0.0123)), float(np.float32(0.0456))
    w_s = np.array([np.float32(0.002), np.float32(0.5)], dtype=np.float64)
    mult, shift = requant_multipliers(in_s, w_s, out_s)
    assert [(int(m), int(s)) for m, s in zip(mult, shift)] == [quantize_multiplier(in_s * float(s) / out_s)
                                                                for s in w_s]
    assert mult.dtype == np.int32 and shift.dtype == np.int32
