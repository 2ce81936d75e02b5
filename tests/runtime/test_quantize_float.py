"""The one float -> int8 quantizer (quantize_float_s8) at its rounding boundaries, saturation and non-finite input.

Expected integers are C roundf's (round half away from zero on the float32 quotient), written out by hand.
"""
import numpy as np
import pytest

from tinycore.errors import UnsupportedError
from tinycore.runtime.fixedpoint import quantize_float_s8

# (x / scale as float32, expected int8 with zero point 0)
BOUNDARIES = [
    (0.49999997, 0),  # largest float32 below 0.5: x + 0.5 rounds up to 1.0 in float32, roundf gives 0
    (-0.49999997, 0),
    (0.5, 1), (-0.5, -1), (1.5, 2), (-1.5, -2), (2.5, 3), (-2.5, -3),  # ties go away from zero, not to even
    (1.4999999, 1), (2.5000002, 3), (126.5, 127), (-127.5, -128),
    (127.49999, 127), (127.5, 127), (-128.49998, -128), (-128.5, -128),  # saturation just past the limits
    (1e30, 127), (-1e30, -128), (0.0, 0), (-0.0, 0),
]


def test_rounding_boundaries_half_away_from_zero():
    v = np.float32([b[0] for b in BOUNDARIES])
    np.testing.assert_array_equal(quantize_float_s8(v, 1.0, 0), np.int8([b[1] for b in BOUNDARIES]))


def test_quotient_is_one_float32_division():
    # these float32 values divide to exactly -29.5 in float32 (-> -30) but to -29.4999991 in double (-> -29)
    x, scale = np.float32(-1.019283652305603), np.float32(0.034551989287137985)
    assert x / scale == np.float32(-29.5) and float(x) / float(scale) > -29.5
    assert quantize_float_s8(x, float(scale), 0) == -30
    assert quantize_float_s8(x, float(scale), 7) == -23


def test_zero_point_then_clamp():
    x = np.float32([-10.0, -0.05, 0.0, 0.05, 0.15, 10.0])
    np.testing.assert_array_equal(quantize_float_s8(x, 0.1, 5), np.int8([-95, 4, 5, 6, 7, 105]))
    np.testing.assert_array_equal(quantize_float_s8(x, 0.01, 0), np.int8([-128, -5, 0, 5, 15, 127]))
    np.testing.assert_array_equal(quantize_float_s8(np.float32([126.0, -130.0]), 1.0, -3), np.int8([123, -128]))
    np.testing.assert_array_equal(quantize_float_s8(np.float32([130.0, -126.0]), 1.0, 3), np.int8([127, -123]))


def test_non_finite_policy():
    """+-inf saturate; NaN gives the zero point (real 0). The C twin does the same (tests/export)."""
    v = np.float32([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(quantize_float_s8(v, 0.5, -7), np.int8([127, -128, -7]))
    # a finite value whose quotient overflows float32 saturates too
    np.testing.assert_array_equal(quantize_float_s8(np.float32([3e38, -3e38]), 1e-3, 0), np.int8([127, -128]))


def test_keeps_shape():
    assert quantize_float_s8(np.zeros((2, 3, 4), np.float32), 0.1, 0).shape == (2, 3, 4)


@pytest.mark.parametrize("scale, zp, message", [(0.0, 0, "scale 0.0"), (float("nan"), 0, "scale nan"),
                                                (0.1, 128, "zero point 128"), (0.1, -129, "zero point -129")])
def test_bad_quantization_parameters(scale, zp, message):
    with pytest.raises(UnsupportedError, match=message):
        quantize_float_s8(np.zeros(3, np.float32), scale, zp)


def test_every_caller_rounds_the_float32_quotient():
    """Model inputs, fused clamps from torch and from .tflite: 2.0 / 0.8 is 2.5 in float32 (-> 3), 2.4999999627
    in double (-> 2), and 0.49999997 stays 0 (x + 0.5 in float32 made it 1 in quantize_input before)."""
    from tinycore.ir import Graph, Tensor
    from tinycore.quant import quantize_input
    from tinycore.quant.params import activation_clamp
    from tinycore.tflite.params import activation_range

    g = Graph({"x": Tensor("x", (1, 3), "int8", (0.8,), 0)}, [], ["x"], ["x"])
    x = np.float32([2.0, 0.49999997 * np.float32(0.8), -2.0])
    np.testing.assert_array_equal(quantize_input(g, x)[0], quantize_float_s8(x, 0.8, 0))
    np.testing.assert_array_equal(quantize_input(g, x), np.int8([[3, 0, -3]]))
    assert activation_clamp({"lo": -np.inf, "hi": 2.0}, 0.8, 0) == (-128, 3)
    assert activation_range(3, float(np.float32(0.8)), 0) == (0, 8)  # RELU6: 6 / 0.8 = 7.5 -> 8
