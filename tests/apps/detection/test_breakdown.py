"""The mAP breakdown on hand-made cases: each kind of detection error counted where it belongs, AP by size and by
IoU level with answers worked out by hand."""
from __future__ import annotations

import pytest

from apps.detection.breakdown import ap_breakdown, error_counts, size_label
from tests.apps.detection.test_metrics import HALF, A, B, C, det, make_set


def test_each_error_kind_is_counted_once(tmp_path):
    """Image 1 holds A (20x20, cat) and B (30x20, cat); image 2 holds C (10x10, dog)."""
    dets = [det(1, 1, A, 0.9),  # true positive
            det(1, 1, [11, 10, 20, 20], 0.8),  # A again: duplicate
            det(1, 1, [50, 40, 12, 20], 0.7),  # B at IoU 0.4: poorly placed
            det(2, 1, C, 0.6),  # C as a cat: wrong class
            det(2, 2, [70, 5, 10, 10], 0.5),  # nothing there: background
            det(2, 2, C, 0.1)]  # under min_score: not counted
    e = error_counts(make_set(tmp_path), dets, min_score=0.3)
    assert {k: v for k, v in e.items() if v and k != "min_score"} == {
        "true_positive": 1, "duplicate": 1, "poorly_placed": 1, "wrong_class": 1, "background": 1,
        "missed_small": 1, "missed_tiny": 1}  # B (600 px2) and C (100 px2) untaken


def test_detection_on_an_ignored_object(tmp_path):
    e = error_counts(make_set(tmp_path, crowd_b=True), [det(1, 1, B, 0.9), det(1, 1, A, 0.8)], min_score=0.0)
    assert (e["on_ignored"], e["true_positive"], e["missed_tiny"], e["missed_small"]) == (1, 1, 1, 0)


def test_ap_by_size_and_iou(tmp_path):
    """A and C exact, B shifted 12 px (IoU 18*20 / (42*20) = 0.43): B counts at IoU 0.1 and 0.3 only."""
    b = ap_breakdown(make_set(tmp_path), [det(1, 1, A, 0.9), det(1, 1, [62, 40, 30, 20], 0.8), det(2, 2, C, 0.7)])
    assert b["n_objects_by_size"] == {"all": 3, "tiny": 1, "small": 2, "medium": 0, "large": 0}
    assert b["ap_by_iou"]["0.1"] == pytest.approx(1.0) and b["ap_by_iou"]["0.3"] == pytest.approx(1.0)
    assert b["ap_by_iou"]["0.5"] == pytest.approx((HALF + 1.0) / 2, abs=1e-9)  # cat: B missed; dog: exact
    assert b["ap50_by_size"]["tiny"] == pytest.approx(1.0)  # C only (the dog class; cat has none: undefined)
    assert b["ap50_by_size"]["medium"] == -1.0
    assert size_label(255.0) == "tiny" and size_label(256.0) == "small" and size_label(96.0 ** 2) == "large"
