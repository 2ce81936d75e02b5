"""Mirrored targets equal the targets of mirrored boxes (no re-encoding needed), and a batch's pictures and targets
flip together."""
import numpy as np
import torch

from apps.detection.augment import augment_batch, mirror_targets, shift_cells
from apps.detection.targets import encode

W, H, S = 80, 64, 8


def test_mirror_targets_equals_encoding_mirrored_boxes():
    # (a centre exactly on a cell edge would land in the left neighbour with offset 1.0: the same decoded box)
    boxes = np.array([[3, 5, 20, 30], [40.5, 10, 7, 9], [60, 40, 20, 24], [0, 0, 79, 64]], np.float32)
    classes = np.array([0, 1, 1, 2])
    t = encode(boxes, classes, 3, (H // S, W // S), S)
    mirrored = boxes.copy()
    mirrored[:, 0] = W - boxes[:, 0] - boxes[:, 2]
    want = encode(mirrored, classes, 3, (H // S, W // S), S)
    got = mirror_targets(torch.from_numpy(t)[None])[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_shift_cells_equals_encoding_shifted_boxes():
    boxes = np.array([[13, 15, 20, 30], [40.5, 10, 7, 9], [50, 30, 20, 24]], np.float32)
    classes = np.array([0, 1, 2])
    t = torch.from_numpy(encode(boxes, classes, 3, (H // S, W // S), S))
    x = torch.rand(3, H, W)
    for dy, dx in [(1, -1), (-1, 1), (0, 2)]:  # every centre stays on the grid
        xs, ts = shift_cells(x, t, dy, dx)
        moved = boxes + np.float32([dx * S, dy * S, 0, 0])
        want = encode(moved, classes, 3, (H // S, W // S), S)
        np.testing.assert_allclose(ts[5:].numpy(), want[5:], atol=1e-6)  # boxes and mask: exact
        assert np.abs(ts[:3].numpy() - want[:3]).max() < 2e-3  # heat: the same Gaussians, tails cut at the edge
        assert torch.equal(xs[:, max(dy, 0) * S:H + min(dy, 0) * S, max(dx, 0) * S:W + min(dx, 0) * S],
                           x[:, max(-dy, 0) * S:H + min(-dy, 0) * S, max(-dx, 0) * S:W + min(-dx, 0) * S])


def test_augment_batch_flips_pictures_with_their_targets(monkeypatch):
    monkeypatch.setattr("apps.detection.augment.SHIFT_CELLS", 0)
    x = torch.rand(16, 3, H, W)
    t = torch.from_numpy(encode(np.array([[3, 5, 20, 30]], np.float32), np.array([0]), 1, (H // S, W // S), S))
    t = t[None].repeat(16, 1, 1, 1)
    ax, at = augment_batch(x, t, torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(at[i], mirror_targets(t[i:i + 1])[0])) for i in range(16)]
    assert 0 < sum(flipped) < 16 and ax.shape == x.shape and float(ax.min()) >= 0 and float(ax.max()) <= 1
    for i in range(16):  # relight keeps the picture's layout: mirrored pictures correlate with x.flip
        ref = x[i].flip(2) if flipped[i] else x[i]
        assert torch.corrcoef(torch.stack([ax[i].reshape(-1), ref.reshape(-1)]))[0, 1] > 0.99
