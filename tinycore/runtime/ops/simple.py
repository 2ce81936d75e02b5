"""Ops that move or requantize data without weights: reshape, pad_s8, quantize_s8."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize


def reshape(x, shape) -> NDArray[np.int8]:
    return x.reshape(shape)


def pad_s8(x, pad_top, pad_bottom, pad_left, pad_right, pad_value) -> NDArray[np.int8]:
    pads = ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0))
    return np.pad(x, pads, constant_values=pad_value).astype(np.int8)


def quantize_s8(x, input_zp, output_zp, mult, shift) -> NDArray[np.int8]:
    """Requantize int8 to another int8 scale and zero point (TFLite QUANTIZE int8 -> int8)."""
    y = requantize(x.astype(np.int64) - input_zp, mult, shift) + output_zp
    return np.clip(y, -128, 127).astype(np.int8)
