"""depthwise_conv2d_s8: one filter per channel (times depth_multiplier), per-channel requantization."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.ops.conv2d import output_stage, padded_windows


def depthwise_conv2d_s8(x, weights, bias, mult, shift, **a) -> NDArray[np.int8]:
    """x (1,H,W,C), weights (1,KH,KW,C*M) -> (1,OH,OW,C*M); output channel c*M+m reads input channel c."""
    _, kh, kw, cout = weights.shape
    m = a["depth_multiplier"]
    win = padded_windows(x, kh, kw, a, a["input_zp"])  # (OH, OW, C, KH, KW)
    win = np.repeat(win, m, axis=2) if m > 1 else win
    w = weights[0].transpose(2, 0, 1).astype(np.float64)  # (C*M, KH, KW)
    acc = np.einsum("hwcij,cij->hwc", win, w).astype(np.int64) + bias.astype(np.int64)
    return output_stage(acc, mult, shift, a)[None]
