"""Train-time augmentation for detection: every picture is zoomed (scale jitter), moved, maybe mirrored, and its
boxes go through the same map and are encoded again (apps.detection.targets.encode); then the shared photometric
change (tinycore.vision.augment.relight) runs on the batch.

Why geometric jitter with re-encoding: the rendered quick set is small enough to be learnt by heart (the model's
val loss turned up after about 25 of 40 epochs with mirror + whole-cell shifts only). Zooming by SCALE_RANGE moves
objects across sizes and sub-cell positions the set does not have, so the heat map and the (ln w, ln h) regression
see new targets each epoch. Boxes keep the data set's rule (the visible part): a box cut by the frame is clipped;
one with less than MIN_KEEP_PX left on a side is dropped. Where the zoomed-out picture does not cover the frame
the border is its mean colour (no mirrored copies of unlabelled objects).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import DataLoader, Dataset

from apps.detection.targets import encode
from tinycore.task import TaskData
from tinycore.vision.augment import relight

SCALE_RANGE = (0.7, 1.4)  # zoom factor, log-uniform
SHIFT_FRAC = 0.1  # extra translation, up to this fraction of the frame each way
MIN_KEEP_PX = 1.0  # boxes clipped thinner than this are dropped
# One worker process warps, encodes and relights the next batches while the main process trains (one torch
# thread by the CLI's default): the augmentation (3.7 ms a picture, README) runs beside the step, not before it.
LOADER_WORKERS = 1


def random_affine(rng: np.random.Generator, h: int, w: int) -> NDArray[np.float64]:
    """A 2x3 map (zoom s, mirror with p 0.5, move) of picture pixels to output pixels: a zoom-in keeps the frame
    covered, a zoom-out keeps the picture inside, each then moved by up to SHIFT_FRAC of the frame."""
    s = float(np.exp(rng.uniform(*np.log(SCALE_RANGE))))
    t = [rng.uniform(min(0.0, n - s * n), max(0.0, n - s * n)) + rng.uniform(-SHIFT_FRAC, SHIFT_FRAC) * n
         for n in (w, h)]
    m = np.array([[s, 0.0, t[0]], [0.0, s, t[1]]])
    if rng.random() < 0.5:
        m[0] = [-s, 0.0, w - t[0]]
    return m


def warp_boxes(boxes: NDArray[np.float32], classes: NDArray[np.int64], m: NDArray[np.float64], h: int, w: int
               ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """[x, y, w, h] boxes through an axis-aligned map m (zoom, mirror, move), clipped to the frame; boxes thinner
    than MIN_KEEP_PX after clipping are dropped (with their classes)."""
    x0 = boxes[:, 0] * m[0, 0] + m[0, 2]
    x1 = (boxes[:, 0] + boxes[:, 2]) * m[0, 0] + m[0, 2]
    y0 = boxes[:, 1] * m[1, 1] + m[1, 2]
    y1 = (boxes[:, 1] + boxes[:, 3]) * m[1, 1] + m[1, 2]
    x0, x1 = np.clip(np.minimum(x0, x1), 0, w), np.clip(np.maximum(x0, x1), 0, w)
    y0, y1 = np.clip(y0, 0, h), np.clip(y1, 0, h)
    keep = (x1 - x0 >= MIN_KEEP_PX) & (y1 - y0 >= MIN_KEEP_PX)
    out = np.stack([x0, y0, x1 - x0, y1 - y0], 1)[keep].astype(np.float32)
    return out.reshape(-1, 4), classes[keep]


def augment_picture(img: NDArray[np.uint8], boxes: NDArray[np.float32], classes: NDArray[np.int64],
                    rng: np.random.Generator) -> tuple[NDArray[np.uint8], NDArray[np.float32], NDArray[np.int64]]:
    """One (H, W, 3) uint8 picture and its boxes, zoomed / mirrored / moved together."""
    h, w = img.shape[:2]
    m = random_affine(rng, h, w)
    fill = tuple(float(v) for v in img.reshape(-1, 3).mean(0))
    centres = m.copy()  # m maps pixel edges (boxes); cv2 maps pixel centres, half a pixel in
    centres[:, 2] += 0.5 * (np.diag(m[:, :2]) - 1)
    out = cv2.warpAffine(img, centres, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return (out, *warp_boxes(boxes, classes, m, h, w))


class AugmentedPictures(Dataset):
    """Training pictures (N, H, W, 3) uint8 with their boxes; item i is a fresh augmentation of picture i as
    (float (3, H, W) in [0, 1], targets (C + 5, H/s, W/s)). Draws come from torch's generator, so fit's seed
    makes them repeatable."""

    def __init__(self, pictures: NDArray[np.uint8], boxes: list, n_classes: int, stride: int) -> None:
        self.pictures, self.boxes, self.n_classes, self.stride = pictures, boxes, n_classes, stride

    def __len__(self) -> int:
        return len(self.pictures)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, ())))
        img, boxes, classes = augment_picture(self.pictures[i], *self.boxes[i], rng)
        h, w = img.shape[:2]
        t = encode(boxes, classes, self.n_classes, (h // self.stride, w // self.stride), self.stride)
        return torch.from_numpy(img.transpose(2, 0, 1) / np.float32(255)), torch.from_numpy(t)


def _collate(batch):
    xs, ts = zip(*batch)
    return relight(torch.stack(xs)).contiguous(memory_format=torch.channels_last), torch.stack(ts)


def augmented_train_loader(data: TaskData, batch_size: int, progress: bool = True) -> DataLoader:
    """The training split (data.extra["train_pictures"], ["train_boxes"]) augmented per picture, relit per batch:
    what tinycore.train.fit takes."""
    pictures, boxes = data.extra["train_pictures"], data.extra["train_boxes"]
    ds = AugmentedPictures(pictures, boxes, len(data.classes), data.extra["stride"])
    return DataLoader(ds, batch_size=batch_size, shuffle=True, collate_fn=_collate, num_workers=LOADER_WORKERS)
