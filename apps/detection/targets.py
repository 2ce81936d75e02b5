"""Training targets of the anchor-free head and its loss (CenterNet-style; Zhou et al. 2019, "Objects as Points").

Target layout per picture, (C + 5, H/s, W/s) float32, channels:
    0..C-1   heat: an elliptical Gaussian around each object's centre cell, 1.0 exactly at that cell (max over
             objects); sigma = GAUSS_ALPHA * size / 6 per axis, in cells (TTFNet's box-shaped Gaussian)
    C..C+3   box at the centre cell: (off_x, off_y, ln w, ln h), w and h in cells (the README head contract with
             DetectConfig.log_size: a relative size error, so small boxes are sized as finely as large ones)
    C+4      mask: 1 at the centre cells (where the box loss counts)
Ignored objects (iscrowd) get a peak and a box like any other: COCOeval drops a detection that covers a crowd box,
so the head should box them; a peak without a box would decode to a zero-size box that counts as a false positive
(that was the perfect head's 0.89 mAP@0.5 ceiling on seed 0).
"""
from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

GAUSS_ALPHA = 0.54
MIN_SIGMA_CELLS = 0.3
SIZE_WEIGHT = 1.0  # L1 on (ln w, ln h) against L1 on the offsets (both about unit scale)
MIN_SIZE_PX = 1.0  # ln of a size below a pixel is not learnable; such boxes are iscrowd anyway
LOG_SIZE = True  # the head's box channels 2, 3 are ln sizes (DetectConfig.log_size)


def encode(boxes: NDArray[np.float32], classes: NDArray[np.int64], n_classes: int, grid_hw: tuple[int, int],
           stride: int) -> NDArray[np.float32]:
    """Boxes [x, y, w, h] in model-input pixels -> the (C + 5, gh, gw) target of one picture."""
    gh, gw = grid_hw
    t = np.zeros((n_classes + 5, gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    for (x, y, w, h), c in zip(boxes, classes):
        cx, cy = (x + w / 2) / stride, (y + h / 2) / stride
        ix, iy = min(int(cx), gw - 1), min(int(cy), gh - 1)
        sx = max(GAUSS_ALPHA * w / stride / 6, MIN_SIGMA_CELLS)
        sy = max(GAUSS_ALPHA * h / stride / 6, MIN_SIGMA_CELLS)
        g = np.exp(-((xs - ix) ** 2 / (2 * sx * sx) + (ys - iy) ** 2 / (2 * sy * sy)))
        t[c] = np.maximum(t[c], g)
        t[n_classes:n_classes + 4, iy, ix] = (cx - ix, cy - iy, np.log(max(w, MIN_SIZE_PX) / stride),
                                              np.log(max(h, MIN_SIZE_PX) / stride))
        t[n_classes + 4, iy, ix] = 1.0
    return t


def detection_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Focal loss on the heat probabilities (alpha 2, beta 4) + L1 on the box at centre cells, each divided by
    the number of objects. outputs: (N, C + 4, gh, gw) = heat probabilities then box; targets: encode()'s."""
    n = targets.shape[1] - 5
    p = outputs[:, :n].clamp(1e-4, 1 - 1e-4)
    t = targets[:, :n]
    pos = (t >= 1.0).float()
    focal = -(pos * (1 - p) ** 2 * torch.log(p) + (1 - pos) * (1 - t) ** 4 * p ** 2 * torch.log(1 - p)).sum()
    mask = targets[:, n + 4:n + 5]
    err = (outputs[:, n:n + 4] - targets[:, n:n + 4]).abs() * mask
    box = err[:, :2].sum() + SIZE_WEIGHT * err[:, 2:].sum()
    return (focal + box) / pos.sum().clamp(min=1.0)


def neg_loss(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Validation score for checkpoint selection (higher is better): minus the mean detection loss."""
    return -float(detection_loss(outputs, targets))
