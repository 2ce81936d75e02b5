"""The shared image augmentation: shapes and range kept, targets untouched, the same draws under the same seed."""
import torch

from tinycore.vision.augment import augmented_loader, flip_shift_relight


def test_flip_shift_relight_keeps_shape_and_pixel_range():
    x = torch.rand(16, 3, 24, 20)
    out = flip_shift_relight(x, torch.Generator().manual_seed(0), shift_px=4)
    assert out.shape == x.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x)


def test_flip_shift_relight_replays_under_a_seed():
    x = torch.rand(8, 3, 16, 16)
    a = flip_shift_relight(x, torch.Generator().manual_seed(3))
    b = flip_shift_relight(x, torch.Generator().manual_seed(3))
    c = flip_shift_relight(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_augmented_loader_changes_inputs_only():
    x = torch.rand(10, 3, 12, 12)
    targets = torch.arange(30, dtype=torch.float32).reshape(10, 3)  # e.g. a label packed with a teacher's logits
    loader = augmented_loader(x, targets, batch_size=4)
    torch.manual_seed(0)
    seen_x, seen_t = zip(*loader)
    xs, ts = torch.cat(seen_x), torch.cat(seen_t)
    assert xs.shape == x.shape and ts.shape == targets.shape
    order = ts[:, 0].long() // 3  # each target row names its sample
    assert torch.equal(ts, targets[order])
    assert not torch.equal(xs, x[order])
