"""Boxes follow their pixels through the zoom / mirror / move (a painted box is found where warp_boxes puts it),
clipping follows the visible-part rule, and the loader yields pictures and re-encoded targets that agree."""
import numpy as np
import torch

from apps.detection.augment import AugmentedPictures, augment_picture, random_affine, warp_boxes
from apps.detection.targets import encode

W, H, S = 80, 64, 8


def _painted(boxes: np.ndarray) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    for k, (x, y, w, h) in enumerate(boxes.astype(int)):
        img[y:y + h, x:x + w] = 60 * (k + 1)
    return img


def test_boxes_follow_their_pixels():
    boxes = np.array([[10, 8, 16, 20], [44, 30, 24, 16]], np.float32)
    img = _painted(boxes)
    rng = np.random.default_rng(3)
    mirrored = 0
    for _ in range(20):
        out, got, classes = augment_picture(img, boxes, np.array([0, 1]), rng)
        for (x, y, w, h), c in zip(got, classes):
            inside = out[int(np.ceil(y)) + 1:int(y + h) - 1, int(np.ceil(x)) + 1:int(x + w) - 1, 0]
            assert inside.size == 0 or np.all(np.abs(inside.astype(int) - 60 * (c + 1)) <= 1)
            ring = out[max(int(y) - 2, 0):int(y + h) + 2, max(int(x) - 2, 0):int(x + w) + 2, 0]
            assert (np.abs(ring.astype(int) - 60 * (c + 1)) <= 1).sum() <= (w + 2) * (h + 2)  # no paint beyond
        mirrored += bool(len(got) == 2 and got[0, 0] > got[1, 0])
    assert 0 < mirrored < 20


def test_identity_map_keeps_boxes_and_clipping_keeps_the_visible_part():
    boxes = np.array([[3, 5, 20, 30], [70, 10, 20, 9]], np.float32)  # the second runs past the right border
    classes = np.array([0, 2])
    got, c = warp_boxes(boxes, classes, np.array([[1.0, 0, 0], [0, 1.0, 0]]), H, W)
    np.testing.assert_allclose(got, [[3, 5, 20, 30], [70, 10, 10, 9]])
    got, c = warp_boxes(boxes, classes, np.array([[1.0, 0, -75], [0, 1.0, 0]]), H, W)  # first leaves the frame
    np.testing.assert_allclose(got, [[0, 10, 15, 9]])
    assert c.tolist() == [2]


def test_random_affine_zooms_within_range_and_covers_the_frame_when_zooming_in():
    rng = np.random.default_rng(0)
    for _ in range(100):
        m = random_affine(rng, H, W)
        s = abs(m[0, 0])
        assert 0.7 - 1e-9 <= s <= 1.4 + 1e-9 and m[1, 1] == s


def test_loader_items_are_pictures_with_their_encoded_boxes():
    boxes = np.array([[10, 8, 16, 20], [44, 30, 24, 16]], np.float32)
    pictures = np.stack([_painted(boxes)] * 4)
    ds = AugmentedPictures(pictures, [(boxes, np.array([0, 1]))] * 4, 2, S)
    torch.manual_seed(0)
    x, t = ds[1]
    assert x.shape == (3, H, W) and x.dtype == torch.float32 and float(x.max()) <= 1.0
    assert t.shape == (7, H // S, W // S)
    n_objects = int(t[6].sum())
    assert 1 <= n_objects <= 2 and int((t[:2] == 1.0).sum()) == n_objects
    assert not torch.equal(ds[1][0], ds[1][0])  # a fresh draw each time
    assert encode(boxes, np.array([0, 1]), 2, (H // S, W // S), S).shape == tuple(t.shape)
