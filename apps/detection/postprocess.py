"""From the int8 head of one picture to COCO results in that picture's pixels (for coco_map and draw_grid).

The decode and NMS are tinycore.vision.detect's (C twin tc_detect); this file only maps class indices to category
ids and model-input pixels back to the picture's, when the front end resized it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from tinycore.vision.detect import DetectParams, detect_s8, to_pixels


def coco_results(rows: NDArray[np.int32], image_id: int, heat_q: tuple[float, int], category_ids: Sequence[int],
                 picture_hw: tuple[int, int] | None = None, input_hw: tuple[int, int] | None = None) -> list[dict]:
    """Final rows (detect_s8) -> [{"image_id", "category_id", "bbox" [x, y, w, h] px, "score"}].

    picture_hw / input_hw: the picture's and the model input's (height, width), when they differ (boxes are scaled
    per axis, as the front end's resize did).
    """
    sy, sx = (1.0, 1.0) if picture_hw is None or input_hw is None else \
        (picture_hw[0] / input_hw[0], picture_hw[1] / input_hw[1])
    out = []
    for d in to_pixels(rows, heat_q):
        x, y, w, h = d["bbox"]
        out.append({"image_id": image_id, "category_id": int(category_ids[d["class"]]),
                    "bbox": [x * sx, y * sy, w * sx, h * sy], "score": d["score"]})
    return out


def detect_picture(heat: NDArray[np.int8], box: NDArray[np.int8], params: DetectParams, heat_q: tuple[float, int],
                   image_id: int, category_ids: Sequence[int], picture_hw: tuple[int, int]) -> list[dict]:
    """Decode + NMS one picture's head and return its COCO results in picture pixels."""
    return coco_results(detect_s8(heat, box, params), image_id, heat_q, category_ids, picture_hw,
                        (params.img_h, params.img_w))
