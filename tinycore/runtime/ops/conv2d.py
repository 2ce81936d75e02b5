"""conv2d_s8: int8 convolution, per-channel requantization (TFLite Micro reference semantics)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import requantize


def padded_windows(x: NDArray[np.int8], kh: int, kw: int, a: dict, fill: int) -> NDArray[np.float64]:
    """Input minus its zero point, padded with zeros, as windows (OH, OW, C, KH, KW) in float64.

    Float64 holds every int8 x int8 sum of products exactly (< 2**53), and lets numpy use BLAS.
    """
    sh, sw = a["stride_h"], a["stride_w"]
    dh, dw = a["dilation_h"], a["dilation_w"]
    xi = x[0].astype(np.float64) - fill
    xp = np.pad(xi, ((a["pad_top"], a["pad_bottom"]), (a["pad_left"], a["pad_right"]), (0, 0)))
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (ekh, ekw), axis=(0, 1))
    return win[::sh, ::sw, :, ::dh, ::dw]


def output_stage(acc: NDArray, mult: NDArray, shift: NDArray, a: dict) -> NDArray[np.int8]:
    """Requantize int32 accumulators per channel (last axis), add the output zero point, clamp."""
    y = requantize(acc, mult, shift) + a["output_zp"]
    return np.clip(y, a["act_min"], a["act_max"]).astype(np.int8)


def conv2d_s8(x, weights, bias, mult, shift, **a) -> NDArray[np.int8]:
    """x (1,H,W,Ci), weights (Co,KH,KW,Ci) -> (1,OH,OW,Co). Padding contributes the input zero point (0 real)."""
    co, kh, kw, ci = weights.shape
    win = padded_windows(x, kh, kw, a, a["input_zp"])  # (OH, OW, Ci, KH, KW)
    oh, ow = win.shape[:2]
    cols = win.transpose(0, 1, 3, 4, 2).reshape(oh * ow, kh * kw * ci)
    acc = cols @ weights.reshape(co, -1).astype(np.float64).T
    acc = acc.astype(np.int64) + bias.astype(np.int64)
    return output_stage(acc, mult, shift, a).reshape(1, oh, ow, co)
