"""Ground truth written as a perfect int8 head, decoded with tinycore.vision.detect and scored with coco_map: every
box comes back (mAP@0.5 = 1) in the picture's pixels; a picture of another size is scaled back per axis."""
from __future__ import annotations

import numpy as np

from apps.detection.dataset import DetectionSet, coco_dict
from apps.detection.metrics import coco_map
from apps.detection.postprocess import detect_picture
from tinycore.vision.detect import DetectConfig, prepare

HEAT_Q, BOX_Q = (1 / 256, -128), (0.05, -100)


def oracle_head(boxes_px: np.ndarray, classes: list[int], n_classes: int, stride: int, input_hw: tuple[int, int],
                scale_xy: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The int8 head a perfect model would output for these picture boxes [x, y, w, h]."""
    gh, gw = input_hw[0] // stride, input_hw[1] // stride
    heat = np.full((1, gh, gw, n_classes), -128, np.int8)
    box = np.full((1, gh, gw, 4), BOX_Q[1], np.int8)
    for (x, y, w, h), c in zip(boxes_px, classes):
        x, w = x * scale_xy[0], w * scale_xy[0]
        y, h = y * scale_xy[1], h * scale_xy[1]
        cx, cy = (x + w / 2) / stride, (y + h / 2) / stride
        gx, gy = int(cx), int(cy)
        heat[0, gy, gx, c] = 100
        vals = [cx - gx, cy - gy, w / stride, h / stride]
        box[0, gy, gx] = np.clip(np.round(np.array(vals) / BOX_Q[0]) + BOX_Q[1], -128, 127)
    return heat, box


def test_perfect_head_gives_map_one_in_picture_pixels(tmp_path):
    picture_hw, input_hw = (480, 640), (240, 320)
    gt = np.array([[40, 60, 100, 80], [300, 200, 60, 120], [500, 50, 90, 90]], float)
    classes = [0, 1, 0]
    anns = [{"image_id": 1, "category_id": [3, 7][c], "bbox": b.tolist()} for b, c in zip(gt, classes)]
    data = DetectionSet(coco_dict([{"id": 1, "file_name": "x.jpg", "height": 480, "width": 640}], anns,
                                  [{"id": 3, "name": "car"}, {"id": 7, "name": "dog"}]), tmp_path)
    params = prepare(DetectConfig(stride=8, img_h=240, img_w=320), (1, 30, 40, 2), HEAT_Q, BOX_Q)
    heat, box = oracle_head(gt, classes, 2, 8, input_hw, (0.5, 0.5))
    dets = detect_picture(heat, box, params, HEAT_Q, 1, data.category_ids, picture_hw)
    assert sorted(d["category_id"] for d in dets) == [3, 3, 7]
    for d in dets:  # within the int8 step: 0.05 cells = 0.4 input px = 0.8 picture px, plus Q8 rounding
        np.testing.assert_allclose(d["bbox"], gt[np.argmin(np.abs(gt - d["bbox"]).sum(1))], atol=1.0)
        assert d["score"] == (100 + 128) / 256
    m = coco_map(data, dets)
    assert m["map50"] == 1.0 and m["map50_95"] == 1.0  # every IoU >= 0.95: the boxes are within 1 px
