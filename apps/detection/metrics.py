"""COCO box metrics with pycocotools (mAP@[.5:.95], mAP@0.5, per-class AP) and a picture grid of predicted and true
boxes.

Detections are COCO results: [{"image_id", "category_id", "bbox": [x, y, w, h] px, "score"}].
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from apps.detection.dataset import DetectionSet
from tinycore.errors import DataError


def coco_gt(coco: dict) -> COCO:
    """A pycocotools COCO object from an in-memory dict, without its prints."""
    gt = COCO()
    gt.dataset = coco
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def mean_ap(precision: np.ndarray) -> float:
    """Mean over the valid (> -1) entries of a COCOeval precision slice; -1 where nothing is valid."""
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else -1.0


def check_image_ids(data: DetectionSet, detections: Sequence[dict]) -> None:
    """Every detection names an image of `data` (else DataError)."""
    image_ids = set(data.image_ids)
    stray = [d["image_id"] for d in detections if d["image_id"] not in image_ids]
    if stray:
        raise DataError(f"{data.name}: detections for image ids {sorted(set(stray))[:5]} not in the data set")


def run_cocoeval(data: DetectionSet, detections: Sequence[dict], iou_thresholds: Sequence[float] | None = None,
                 area_ranges: dict[str, tuple[float, float]] | None = None) -> COCOeval:
    """COCOeval (bbox) of non-empty `detections` over every image of `data`, accumulated; COCO's IoU thresholds
    and area ranges unless given ({label: (min, max) px^2}, the first one counting every object)."""
    gt = coco_gt(data.coco)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(d, bbox=[float(v) for v in d["bbox"]], score=float(d["score"])) for d in detections])
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.params.imgIds = sorted(data.image_ids)
        if iou_thresholds is not None:
            ev.params.iouThrs = np.asarray(iou_thresholds, np.float64)
        if area_ranges is not None:
            ev.params.areaRng = [list(r) for r in area_ranges.values()]
            ev.params.areaRngLbl = list(area_ranges)
        ev.evaluate()
        ev.accumulate()
    return ev


def coco_map(data: DetectionSet, detections: Sequence[dict]) -> dict:
    """{"map50_95", "map50", "per_class": {name: {"ap50_95", "ap50"}}} over every image of `data`.

    No detections at all gives 0.0 (pycocotools' loadRes cannot take an empty list). A class without ground truth
    has AP -1 (COCO's "undefined"), left out of the means as COCOeval does.
    """
    check_image_ids(data, detections)
    names = dict(zip(data.category_ids, data.class_names))
    if not detections:
        return {"map50_95": 0.0, "map50": 0.0,
                "per_class": {n: {"ap50_95": 0.0, "ap50": 0.0} for n in names.values()}}
    ev = run_cocoeval(data, detections)
    # precision: [T iou thresholds, R recall points, K classes, A area ranges (0 = all), M max dets (-1 = 100)]
    prec = ev.eval["precision"][:, :, :, 0, -1]
    cat_ids = list(ev.params.catIds)
    per_class = {names[c]: {"ap50_95": mean_ap(prec[:, :, k]), "ap50": mean_ap(prec[0, :, k])}
                 for k, c in enumerate(cat_ids)}
    return {"map50_95": max(mean_ap(prec), 0.0), "map50": max(mean_ap(prec[0]), 0.0), "per_class": per_class}


def draw_grid(data: DetectionSet, detections: Sequence[dict], path: str | Path, image_ids: Sequence[int] | None = None,
              cols: int = 4, cell_px: int = 240, min_score: float = 0.0) -> Path:
    """PNG grid: true boxes green (ignored ones grey), predicted boxes red with class and score."""
    ids = list(image_ids if image_ids is not None else data.image_ids[:cols * 2])
    if not ids:
        raise DataError(f"{data.name}: no images to draw")
    names = dict(zip(data.category_ids, data.class_names))
    rows = (len(ids) + cols - 1) // cols
    canvas = np.full((rows * cell_px, cols * cell_px, 3), 255, np.uint8)
    for n, image_id in enumerate(ids):
        img = data.read_rgb(image_id)
        k = cell_px / max(img.shape[:2])
        img = cv2.resize(img, (max(1, round(img.shape[1] * k)), max(1, round(img.shape[0] * k))))
        boxes, classes, ignore = data.boxes_of(image_id)
        for b, c, ig in zip(boxes, classes, ignore):
            _rect(img, b * k, (160, 160, 160) if ig else (0, 200, 0), None)
        for d in detections:
            if d["image_id"] == image_id and d["score"] >= min_score:
                _rect(img, np.asarray(d["bbox"]) * k, (230, 0, 0),
                      f"{names.get(d['category_id'], d['category_id'])} {d['score']:.2f}")
        r, c = divmod(n, cols)
        canvas[r * cell_px:r * cell_px + img.shape[0], c * cell_px:c * cell_px + img.shape[1]] = img
    path = Path(path)
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    return path


def _rect(img: np.ndarray, xywh: np.ndarray, colour: tuple[int, int, int], label: str | None) -> None:
    x, y, w, h = (int(round(v)) for v in xywh)
    cv2.rectangle(img, (x, y), (x + w, y + h), colour, 1)
    if label:
        cv2.putText(img, label, (x, max(y - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1, cv2.LINE_AA)
