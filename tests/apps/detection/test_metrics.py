"""COCO metrics on hand-made cases with answers worked out by hand (101-point interpolated precision), and the
picture grid."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from apps.detection.dataset import DetectionSet, coco_dict
from apps.detection.metrics import coco_map, draw_grid
from tests.apps.detection.fake_trees import write_jpeg
from tinycore.errors import DataError

A, B, C = [10, 10, 20, 20], [50, 40, 30, 20], [5, 60, 10, 10]


def make_set(tmp_path, crowd_b: bool = False) -> DetectionSet:
    """Image 1: A (cat 1), B (cat 1, crowd if asked); image 2: C (cat 2)."""
    for i in (1, 2):
        write_jpeg(tmp_path / f"{i}.jpg", 80, 100, seed=i)
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 80} for i in (1, 2)]
    anns = [{"image_id": 1, "category_id": 1, "bbox": A}, {"image_id": 1, "category_id": 1, "bbox": B,
                                                           "iscrowd": int(crowd_b)},
            {"image_id": 2, "category_id": 2, "bbox": C}]
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    return DetectionSet(coco_dict(images, anns, cats), tmp_path, "hand")


def det(image_id: int, cat: int, box: list[float], score: float) -> dict:
    return {"image_id": image_id, "category_id": cat, "bbox": box, "score": score}


PERFECT = [det(1, 1, A, 0.9), det(1, 1, B, 0.8), det(2, 2, C, 0.7)]
# one of two cat boxes missed: precision 1 up to recall 0.5 (51 of 101 recall points), 0 after
HALF = 51 / 101
# A, a duplicate of A, then B: TP, FP, TP -> interpolated precision 1 up to recall 0.5, 2/3 on the 50 points after
DUPLICATE = (51 + 50 * 2 / 3) / 101


@pytest.mark.parametrize("dets, cat_ap, dog_ap", [
    (PERFECT, 1.0, 1.0),
    ([det(1, 1, A, 0.9), det(2, 2, C, 0.7)], HALF, 1.0),
    ([det(1, 1, A, 0.9), det(1, 1, A, 0.85), det(1, 1, B, 0.8), det(2, 2, C, 0.7)], DUPLICATE, 1.0),
    ([det(1, 1, A, 0.9), det(1, 1, B, 0.8)], 1.0, 0.0),  # every dog missed
    ([det(1, 1, A, 0.9), det(1, 1, B, 0.8), det(2, 1, C, 0.7)], 1.0, 0.0),  # C found with the wrong class: FP
])
def test_map_on_hand_made_cases(tmp_path, dets, cat_ap, dog_ap):
    m = coco_map(make_set(tmp_path), dets)
    assert m["per_class"]["cat"]["ap50"] == pytest.approx(cat_ap, abs=1e-9)
    assert m["per_class"]["dog"]["ap50"] == pytest.approx(dog_ap, abs=1e-9)
    assert m["map50"] == pytest.approx((cat_ap + dog_ap) / 2, abs=1e-9)
    assert m["map50_95"] == pytest.approx((cat_ap + dog_ap) / 2, abs=1e-9)  # exact boxes: same at every IoU


def test_map50_95_counts_the_iou_thresholds(tmp_path):
    """B shifted 3 px right: IoU 27*20 / (33*20) = 0.818 passes .50 to .80 (7 of 10 thresholds), fails .85 to .95."""
    dets = [det(1, 1, A, 0.9), det(1, 1, [53, 40, 30, 20], 0.8), det(2, 2, C, 0.7)]
    m = coco_map(make_set(tmp_path), dets)
    assert m["per_class"]["cat"]["ap50"] == pytest.approx(1.0)
    assert m["per_class"]["cat"]["ap50_95"] == pytest.approx((7 * 1.0 + 3 * HALF) / 10, abs=1e-9)


def test_ignored_ground_truth_is_no_miss_and_no_false_positive(tmp_path):
    data = make_set(tmp_path, crowd_b=True)
    assert coco_map(data, [det(1, 1, A, 0.9), det(2, 2, C, 0.7)])["map50"] == pytest.approx(1.0)
    assert coco_map(data, [det(1, 1, B, 0.95), det(1, 1, A, 0.9), det(2, 2, C, 0.7)])["map50"] == pytest.approx(1.0)


def test_no_detections_and_unknown_images(tmp_path):
    m = coco_map(make_set(tmp_path), [])
    assert m["map50"] == 0.0 and m["per_class"]["dog"]["ap50"] == 0.0
    with pytest.raises(DataError, match="image ids \\[7\\]"):
        coco_map(make_set(tmp_path), [det(7, 1, A, 0.5)])


def test_grid_png_shows_true_and_predicted_boxes(tmp_path):
    data = make_set(tmp_path)
    path = draw_grid(data, [det(1, 1, [60, 5, 30, 30], 0.9)], tmp_path / "grid.png", cols=2, cell_px=100)
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(int)
    assert img.shape == (100, 200, 3)
    red = (img[..., 0] > 200) & (img[..., 1] < 40) & (img[..., 2] < 40)
    green = (img[..., 1] > 180) & (img[..., 0] < 40) & (img[..., 2] < 40)
    assert red[:, :100].sum() > 50 and red[:, 100:].sum() == 0  # the prediction is on image 1 only
    assert green[:, :100].sum() > 50 and green[:, 100:].sum() > 10  # C is drawn on image 2
