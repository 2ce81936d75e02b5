"""Score a detector's heads on a split: decode + NMS per picture with tinycore.vision.detect (the C twin's
integer rules), then COCO mAP (metrics.coco_map) and a picture grid.

A predictor returns `Heads`: int8 heat (N, gh, gw, C) and box (N, gh, gw, 4) in the graph's layout, with their
(scale, zero point). The float model's outputs are put on the int8 graph's output grid first, so float and int8
go through the same decoder and differ only by the network's own quantization.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from apps.detection.breakdown import ap_breakdown, error_counts
from apps.detection.metrics import coco_map, draw_grid
from apps.detection.postprocess import detect_picture
from apps.detection.targets import LOG_SIZE
from tinycore.task import TaskData
from tinycore.vision.detect import DetectConfig, prepare

# mAP integrates precision over every recall level, so boxes are kept down to a low score (COCO practice; the
# decoder's default 0.3 is an operating point for a device, not for scoring)
EVAL_SCORE_THRESHOLD = 0.05


@dataclass(frozen=True)
class Heads:
    heat: NDArray[np.int8]  # (N, gh, gw, C)
    box: NDArray[np.int8]  # (N, gh, gw, 4)
    heat_q: tuple[float, int]
    box_q: tuple[float, int]


def evaluate_heads(predict: Callable[[NDArray[np.float32]], Heads], data: TaskData, split: str, run_dir: Path,
                   tag: str, config: DetectConfig | None = None) -> dict:
    """{map50, map50_95, per_class, n, n_detections, breakdown} of `split` (breakdown: apps.detection.breakdown,
    its error counts at the decoder's default threshold, the device's operating point); draws
    detections_<tag>.png in run_dir (boxes scoring at least that threshold)."""
    x, _ = getattr(data, split)
    ds = data.extra["sets"][split]
    h, w = x.shape[2:]
    config = config or DetectConfig(stride=data.extra["stride"], img_h=h, img_w=w,
                                    score_threshold=EVAL_SCORE_THRESHOLD, log_size=LOG_SIZE)
    heads = predict(x)
    params = prepare(config, heads.heat.shape[1:], heads.heat_q, heads.box_q)
    results = []
    for k, image_id in enumerate(ds.image_ids):
        im = next(i for i in ds.coco["images"] if i["id"] == image_id)
        results += detect_picture(heads.heat[k], heads.box[k], params, heads.heat_q, image_id, ds.category_ids,
                                  (im["height"], im["width"]))
    m = coco_map(ds, results)
    draw_grid(ds, results, run_dir / f"detections_{tag}.png", min_score=DetectConfig.score_threshold)
    breakdown = {**ap_breakdown(ds, results), "errors": error_counts(ds, results, DetectConfig.score_threshold)}
    return {**m, "n": len(ds.image_ids), "n_detections": len(results), "score_threshold": config.score_threshold,
            "breakdown": breakdown}
