"""numpy int8 input quantization: round half away from zero (C roundf), then clamp."""
import numpy as np
import pytest

from tinycore.audio.quantize import quantize_features_s8, round_half_away_s32
from tinycore.errors import UnsupportedError


def test_round_half_away_matches_c_roundf_near_half():
    v = np.float32([0.49999997, 0.5, 1.4999999, 1.5, -0.49999997, -0.5, -2.5, 2.5000002, 8388607.5])
    np.testing.assert_array_equal(round_half_away_s32(v), [0, 1, 1, 2, 0, -1, -3, 3, 8388608])


def test_quantize_zero_point_and_clamp():
    x = np.float32([-10.0, -0.05, 0.0, 0.05, 0.15, 10.0])
    np.testing.assert_array_equal(quantize_features_s8(x, 0.1, 5), np.int8([-95, 4, 5, 6, 7, 105]))
    np.testing.assert_array_equal(quantize_features_s8(x, 0.01, 0), np.int8([-128, -5, 0, 5, 15, 127]))


@pytest.mark.parametrize("scale, zp, message", [(0.0, 0, "scale 0.0"), (0.1, 128, "zero point 128")])
def test_bad_quantization_parameters(scale, zp, message):
    with pytest.raises(UnsupportedError, match=message):
        quantize_features_s8(np.zeros(3, np.float32), scale, zp)
