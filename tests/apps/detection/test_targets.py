"""Head targets: peak 1.0 at the centre cell, box in cell units, mask only for non-ignored objects; the loss is
lower for a head that matches its targets."""
import numpy as np
import torch

from apps.detection.targets import detection_loss, encode


def test_encode_centre_cell_box_and_mask():
    boxes = np.array([[16, 8, 32, 24], [60, 40, 4, 4]], np.float32)  # centres (32, 20) px and (62, 42) px
    t = encode(boxes, np.array([1, 0]), 2, (8, 10), 8)
    assert t.shape == (7, 8, 10)
    assert t[1, 2, 4] == 1.0 and t[1].max() == 1.0 and t[0, 5, 7] == 1.0  # cells (x 4, y 2) and (7, 5)
    np.testing.assert_allclose(t[2:6, 2, 4], [0.0, 0.5, np.log(4.0), np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(t[2:6, 5, 7], [0.75, 0.25, np.log(0.5), np.log(0.5)], rtol=1e-6)
    assert t[6].sum() == 2.0  # every object (a tiny, ignored one too) has a box: its peak must decode to a box
    assert 0 < t[1, 2, 5] < 1 and t[1, 7, 9] < 1e-3


def test_loss_prefers_the_matching_head():
    boxes = np.array([[16, 8, 32, 24]], np.float32)
    t = torch.from_numpy(encode(boxes, np.array([1]), 2, (8, 10), 8))[None]
    good = torch.cat([t[:, :2].clamp(0.01, 0.99), t[:, 2:6]], 1)
    bad = torch.cat([torch.full_like(t[:, :2], 0.5), torch.zeros_like(t[:, 2:6])], 1)
    assert detection_loss(good, t) < 0.5 * detection_loss(bad, t)
