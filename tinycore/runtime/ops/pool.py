"""avg_pool2d_s8 and max_pool2d_s8: windows over valid pixels only; input and output share quantization."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import round_div_away


def _windows(x, a, fill):
    """Padded windows (OH, OW, C, FH, FW) of values and of a validity mask."""
    pads = ((a["pad_top"], a["pad_bottom"]), (a["pad_left"], a["pad_right"]))
    xp = np.pad(x[0].astype(np.int64), pads + ((0, 0),), constant_values=fill)
    valid = np.pad(np.ones(x.shape[1:3], np.int64), pads)
    fh, fw = a["filter_h"], a["filter_w"]
    win = np.lib.stride_tricks.sliding_window_view(xp, (fh, fw), axis=(0, 1))[::a["stride_h"], ::a["stride_w"]]
    vwin = np.lib.stride_tricks.sliding_window_view(valid, (fh, fw))[::a["stride_h"], ::a["stride_w"]]
    return win, vwin


def avg_pool2d_s8(x, **a) -> NDArray[np.int8]:
    """Sum over the window's pixels inside the input, divided by their count with rounding half away from zero."""
    win, vwin = _windows(x, a, 0)
    total = win.sum(axis=(3, 4))
    count = vwin.sum(axis=(2, 3))[:, :, None]
    y = round_div_away(total, count)
    return np.clip(y, a["act_min"], a["act_max"]).astype(np.int8)[None]


def max_pool2d_s8(x, **a) -> NDArray[np.int8]:
    win, _ = _windows(x, a, -(2**40))
    y = win.max(axis=(3, 4))
    return np.clip(y, a["act_min"], a["act_max"]).astype(np.int8)[None]
