"""Where a detector loses mAP: AP@0.5 by object size, AP at loose to strict IoU, and what each confident
detection is (true positive, duplicate, poorly placed, wrong class, background) and which objects are missed.

Why: mAP@0.5 alone does not say which lever to pull. AP at IoU 0.1 close to AP at 0.5 means the boxes are placed
well enough and the loss is in finding and classifying objects; many wrong-class detections mean the classes are
confused (class-wise NMS keeps both); misses of tiny objects point at the head's stride.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from pycocotools import mask as mask_utils

from apps.detection.dataset import DetectionSet
from apps.detection.metrics import check_image_ids, mean_ap, run_cocoeval

# COCO's small / medium / large, with "small" split at 16 px: objects of 10-16 px are the ones a stride-8 head
# sees as one or two cells
SIZE_RANGES_PX2 = {"all": (0.0, 1e10), "tiny": (0.0, 16.0 ** 2), "small": (16.0 ** 2, 32.0 ** 2),
                   "medium": (32.0 ** 2, 96.0 ** 2), "large": (96.0 ** 2, 1e10)}
IOU_LEVELS = (0.1, 0.3, 0.5, 0.7)
MATCH_IOU = 0.5  # a true positive, as mAP@0.5 counts it
NEAR_IOU = 0.1  # a detection overlapping its class's object this much but under MATCH_IOU is poorly placed
CONFUSED_IOU = 0.3  # a detection overlapping another class's object this much is that object, misclassified


def size_label(area_px2: float) -> str:
    return next(k for k, (lo, hi) in SIZE_RANGES_PX2.items() if k != "all" and lo <= area_px2 < hi)


def ap_breakdown(data: DetectionSet, detections: Sequence[dict]) -> dict:
    """{"ap50_by_size": {size: AP@0.5}, "ap_by_iou": {"0.1": AP, ...}, "n_objects_by_size": {size: n}}; AP -1
    where a size has no objects (COCO's undefined)."""
    check_image_ids(data, detections)
    counts = {k: sum(1 for a in data.coco["annotations"] if not a.get("iscrowd") and lo <= a["area"] < hi)
              for k, (lo, hi) in SIZE_RANGES_PX2.items()}
    if not detections:
        return {"ap50_by_size": {k: 0.0 for k in SIZE_RANGES_PX2}, "ap_by_iou": {str(t): 0.0 for t in IOU_LEVELS},
                "n_objects_by_size": counts}
    ev = run_cocoeval(data, detections, IOU_LEVELS, SIZE_RANGES_PX2)
    prec = ev.eval["precision"]  # [iou, recall, class, size, max dets]
    at50 = IOU_LEVELS.index(MATCH_IOU)
    return {"ap50_by_size": {k: mean_ap(prec[at50, :, :, a, -1]) for a, k in enumerate(SIZE_RANGES_PX2)},
            "ap_by_iou": {str(t): mean_ap(prec[i, :, :, 0, -1]) for i, t in enumerate(IOU_LEVELS)},
            "n_objects_by_size": counts}


def error_counts(data: DetectionSet, detections: Sequence[dict], min_score: float) -> dict:
    """Detections scoring at least min_score, matched greedily by score to objects of their class at IoU
    MATCH_IOU, each counted once as the first that holds of: true_positive, on_ignored (matches an ignored
    object), duplicate (matches an object already taken), poorly_placed, wrong_class, background; and the objects
    no detection took, by size (missed_<size>)."""
    check_image_ids(data, detections)
    keys = ["true_positive", "on_ignored", "duplicate", "poorly_placed", "wrong_class", "background"]
    out = dict.fromkeys(keys + [f"missed_{k}" for k in SIZE_RANGES_PX2 if k != "all"], 0)
    by_image: dict[int, list[dict]] = {}
    for d in detections:
        if d["score"] >= min_score:
            by_image.setdefault(d["image_id"], []).append(d)
    for image_id in data.image_ids:
        gts = [a for a in data.coco["annotations"] if a["image_id"] == image_id]
        dets = sorted(by_image.get(image_id, []), key=lambda d: -d["score"])
        taken = np.zeros(len(gts), bool)
        if dets and gts:
            iou = mask_utils.iou([list(map(float, d["bbox"])) for d in dets], [list(map(float, g["bbox"]))
                                                                             for g in gts], [0] * len(gts))
        for i, d in enumerate(dets):
            same = np.array([g["category_id"] == d["category_id"] for g in gts], bool)
            crowd = np.array([bool(g.get("iscrowd")) for g in gts], bool)
            row = iou[i] if gts else np.zeros(0)
            free = same & ~taken & ~crowd & (row >= MATCH_IOU)
            if free.any():
                taken[np.flatnonzero(free)[np.argmax(row[free])]] = True
                out["true_positive"] += 1
            elif (same & crowd & (row >= MATCH_IOU)).any():
                out["on_ignored"] += 1
            elif (same & taken & (row >= MATCH_IOU)).any():
                out["duplicate"] += 1
            elif (same & (row >= NEAR_IOU)).any():
                out["poorly_placed"] += 1
            elif (~same & (row >= CONFUSED_IOU)).any():
                out["wrong_class"] += 1
            else:
                out["background"] += 1
        for g, t in zip(gts, taken):
            if not t and not g.get("iscrowd"):
                out[f"missed_{size_label(g['area'])}"] += 1
    return {"min_score": min_score, **out}
