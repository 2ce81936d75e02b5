"""Decode an anchor-free centre heat-map head into boxes, then class-wise NMS, in integers (C twin: c/tc_detect.c).

The head (CenterNet / FCOS-like, one level at stride s; the detection model writes these two outputs):

- ``heat`` (1, H/s, W/s, C) int8, after logistic: the probability that a box of class c is centred in the cell.
- ``box`` (1, H/s, W/s, 4) int8, one (scale, zero point) for all 4 channels, in **cell units**:
  (off_x, off_y, w, h). The box centre is ((x + off_x) * s, (y + off_y) * s) px, its size (w * s, h * s) px.
  With ``log_size`` the last two channels are (ln w, ln h) instead: one int8 step is then a fixed *relative* size
  step, so a 10 px box is sized as finely as a 200 px one (a linear grid spanning 40 cells steps 2.5 px).

Integer rules, written once here and copied by the C twin so both give the same list bit for bit:

1. Threshold in the int8 domain: a cell is a candidate when heat >= ``heat_min_q`` (the smallest int8 whose real
   value is >= the float score threshold) and it equals the maximum of its 3x3 neighbourhood (same class, cells
   outside the map left out).
2. Candidates are ordered by score (int8) descending, then by flat index ((y * W + x) * C + c) ascending; the first
   ``max_candidates`` are kept.
3. Box values in Q8 pixels: v_q8 = round((q - zp) * M / 2**16), M = round(scale * s * 2**24), rounding half up
   (floor(x / 2**16 + 1/2)); w and h below 0 become 0. With log_size, w_q8 and h_q8 are read from a 256-entry
   table instead: size_q8[q + 128] = min(round(exp((q - zp) * scale) * s * 256), 2**24). x0 = x * s * 256 + off_x_q8 - floor(w_q8 / 2), x1 = x0 + w_q8
   (y alike); then clipped to [0, img_w * 256] x [0, img_h * 256].
4. Class-wise greedy NMS in that order: a box is dropped when a kept box of its class overlaps it with
   IoU > t, tested in int64 as inter * 2**16 > t_q16 * union, t_q16 = round(t * 2**16); at most
   ``max_detections`` boxes are kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import UnsupportedError

BOX_SHIFT = 16  # v_q8 = round((q - zp) * M / 2**BOX_SHIFT)
SIZE_Q8_MAX = 1 << 24  # the log-size table's cap (65,536 px): keeps x0 + w inside int32
IOU_ONE_Q16 = 1 << 16


@dataclass(frozen=True)
class DetectConfig:
    """Decode settings: the head's stride, the input picture size and the thresholds (the CLI options)."""
    stride: int = 8                # input pixels per heat-map cell
    img_h: int = 240               # model input size in pixels; boxes are clipped to it
    img_w: int = 320
    score_threshold: float = 0.3   # on the heat-map probability
    iou_threshold: float = 0.5     # NMS: IoU above this suppresses
    max_candidates: int = 100      # peaks kept before NMS (the C scratch buffer)
    max_detections: int = 50       # boxes kept after NMS
    log_size: bool = False         # box channels 2, 3 hold ln(w), ln(h) in cells


@dataclass(frozen=True)
class DetectParams:
    """DetectConfig prepared for integer decoding of one head (the constants the C twin receives)."""
    grid_h: int
    grid_w: int
    classes: int
    stride: int
    img_h: int
    img_w: int
    heat_min_q: int   # int8 threshold; 128 means nothing passes
    box_zp: int
    box_mult: int     # M = round(box_scale * stride * 2**24)
    iou_q16: int
    max_candidates: int
    max_detections: int
    log_size: int     # 1: w, h from size_q8 (a ln-size head); 0: linear through box_mult
    size_q8: tuple[int, ...]  # 256 entries, q + 128 -> Q8 pixels (zeros when linear)


def prepare(config: DetectConfig, heat_shape: tuple[int, ...], heat_q: tuple[float, int],
            box_q: tuple[float, int]) -> DetectParams:
    """Turn float thresholds and the outputs' (scale, zero point) into the integers decode_s8 and C use."""
    *_, gh, gw, classes = heat_shape
    h_scale, h_zp = heat_q
    b_scale, b_zp = box_q
    if h_scale <= 0 or b_scale <= 0:
        raise UnsupportedError(f"detection head: output scales must be > 0, got heat {h_scale}, box {b_scale}")
    q = math.ceil(config.score_threshold / h_scale + h_zp - 1e-9)
    mult = round(b_scale * config.stride * (1 << 24))
    if not 0 < mult < 2 ** 31:
        raise UnsupportedError(f"detection head: box scale {b_scale} x stride {config.stride} gives multiplier "
                               f"{mult}, outside 1..2**31-1; the box output needs a scale below "
                               f"{2 ** 7 / config.stride:g} cells per step")
    if not 0.0 <= config.iou_threshold <= 1.0:
        raise UnsupportedError(f"detection: iou_threshold {config.iou_threshold} is outside [0, 1]")
    if config.max_candidates < 1 or config.max_detections < 1:
        raise UnsupportedError("detection: max_candidates and max_detections must be >= 1")
    size_q8 = tuple(min(round(math.exp((q - b_zp) * b_scale) * config.stride * 256), SIZE_Q8_MAX)
                    for q in range(-128, 128)) if config.log_size else (0,) * 256
    return DetectParams(grid_h=gh, grid_w=gw, classes=classes, stride=config.stride, img_h=config.img_h,
                        img_w=config.img_w, heat_min_q=int(min(max(q, -128), 128)), box_zp=int(b_zp),
                        box_mult=mult, iou_q16=round(config.iou_threshold * IOU_ONE_Q16),
                        max_candidates=config.max_candidates, max_detections=config.max_detections,
                        log_size=int(config.log_size), size_q8=size_q8)


def round_shift(x: NDArray[np.int64] | int, shift: int) -> NDArray[np.int64] | int:
    """floor(x / 2**shift + 1/2): Python's >> is a floor, as the C twin's tc_det_round_shift."""
    return (x + (1 << (shift - 1))) >> shift


def find_peaks(heat: NDArray[np.int8], heat_min_q: int) -> NDArray[np.int64]:
    """Flat indices ((y * W + x) * C + c) of cells >= heat_min_q equal to their 3x3 maximum, ascending."""
    h = heat.reshape(heat.shape[-3:]).astype(np.int16)
    pad = np.pad(h, ((1, 1), (1, 1), (0, 0)), constant_values=-129)
    gh, gw = h.shape[:2]
    peak = np.max([pad[dy:dy + gh, dx:dx + gw] for dy in range(3) for dx in range(3)], axis=0)
    return np.flatnonzero((h >= heat_min_q) & (h == peak))


def decode_s8(heat: NDArray[np.int8], box: NDArray[np.int8], p: DetectParams) -> NDArray[np.int32]:
    """Candidates before NMS, best first: rows (class, score_q, x0, y0, x1, y1, index), coordinates in Q8 px."""
    flat = heat.reshape(-1).astype(np.int64)
    idx = find_peaks(heat, p.heat_min_q)
    order = np.lexsort((idx, -flat[idx]))[:p.max_candidates]
    idx = idx[order]
    cell, cls = np.divmod(idx, p.classes)
    gy, gx = np.divmod(cell, p.grid_w)
    v = round_shift((box.reshape(-1, 4)[cell].astype(np.int64) - p.box_zp) * p.box_mult, BOX_SHIFT)
    if p.log_size:
        q = box.reshape(-1, 4)[cell].astype(np.int64) + 128
        lut = np.asarray(p.size_q8, np.int64)
        w, h = lut[q[:, 2]], lut[q[:, 3]]
    else:
        w, h = np.maximum(v[:, 2], 0), np.maximum(v[:, 3], 0)
    x0 = gx * p.stride * 256 + v[:, 0] - (w >> 1)
    y0 = gy * p.stride * 256 + v[:, 1] - (h >> 1)
    x1, y1 = x0 + w, y0 + h
    xs = [np.clip(a, 0, p.img_w * 256) for a in (x0, x1)]
    ys = [np.clip(a, 0, p.img_h * 256) for a in (y0, y1)]
    return np.stack([cls, flat[idx], xs[0], ys[0], xs[1], ys[1], idx], axis=1).astype(np.int32)


def iou_above(a: NDArray[np.int32], b: NDArray[np.int32], iou_q16: int) -> bool:
    """IoU(a, b) > iou_q16 / 2**16 for boxes (x0, y0, x1, y1), in exact integers."""
    a, b = [int(v) for v in a], [int(v) for v in b]
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter * IOU_ONE_Q16 > iou_q16 * union


def nms(cands: NDArray[np.int32], iou_q16: int, max_detections: int) -> NDArray[np.int32]:
    """Class-wise greedy NMS over candidates already in rank order (rows as decode_s8 returns)."""
    kept: list[int] = []
    for i, row in enumerate(cands):
        if len(kept) == max_detections:
            break
        if not any(cands[k, 0] == row[0] and iou_above(cands[k, 2:6], row[2:6], iou_q16) for k in kept):
            kept.append(i)
    return cands[kept].reshape(-1, cands.shape[1] if cands.ndim == 2 else 7)


def detect_s8(heat: NDArray[np.int8], box: NDArray[np.int8], p: DetectParams) -> NDArray[np.int32]:
    """The final list, best first: rows (class, score_q, x0, y0, x1, y1, index), coordinates in Q8 pixels."""
    return nms(decode_s8(heat, box, p), p.iou_q16, p.max_detections)


def to_pixels(dets: NDArray[np.int32], heat_q: tuple[float, int]) -> list[dict]:
    """Final rows -> [{class, score, bbox [x, y, w, h] px}] (score as the probability), for metrics and plots."""
    scale, zp = heat_q
    return [{"class": int(d[0]), "score": float(scale * (int(d[1]) - zp)),
             "bbox": [d[2] / 256, d[3] / 256, (d[4] - d[2]) / 256, (d[5] - d[3]) / 256]} for d in dets]
