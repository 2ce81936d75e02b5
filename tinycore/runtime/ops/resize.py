"""resize_nearest_s8: TFLite RESIZE_NEAREST_NEIGHBOR (int8), the source row/column of every output pixel.

TFLite computes each source index in float32 (`GetNearestNeighbor`): scale = in / out, or (in - 1) / (out - 1)
with align_corners; index = floor((o + offset) * scale), rounded instead with align_corners; offset 0.5 with
half_pixel_centers; clamped to [0, in - 1]. The indices depend on sizes only, so they are computed here once in
IEEE float32 (as the C++ does) and the C kernel reads them as constant tables: no float on the device.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def nearest_indices(in_size: int, out_size: int, align_corners: int, half_pixel_centers: int) -> NDArray[np.int32]:
    """Source index of each of out_size outputs along one axis, exactly as TFLite's float32 arithmetic gives it."""
    f = np.float32
    if align_corners and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel_centers else f(0.0)
    pos = (np.arange(out_size, dtype=np.float32) + offset) * np.float32(scale)
    if align_corners:  # TfLiteRound: half away from zero
        idx = np.sign(pos) * np.floor(np.abs(pos) + f(0.5))
    else:
        idx = np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        idx = np.maximum(idx, 0)
    return idx.astype(np.int32)


def resize_nearest_s8(x, out_h: int, out_w: int, align_corners: int, half_pixel_centers: int) -> NDArray[np.int8]:
    rows = nearest_indices(x.shape[1], out_h, align_corners, half_pixel_centers)
    cols = nearest_indices(x.shape[2], out_w, align_corners, half_pixel_centers)
    return np.asarray(x)[:, rows][:, :, cols].astype(np.int8)
