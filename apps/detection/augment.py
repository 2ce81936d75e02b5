"""Train-time augmentation for detection: a horizontal mirror (p 0.5) with its targets mirrored exactly, a shift by
whole head cells (targets shifted exactly), and the shared photometric change (tinycore.vision.augment.relight).

Mirroring the targets needs no re-encoding: the grid is input / stride exactly, so a centre x px goes to W - x, its
cell ix to gw - 1 - ix and its offset off_x to 1 - off_x; the Gaussians are symmetric about their centre cells and
ln sizes do not change. (A centre exactly on a cell edge lands in the left neighbour with offset 1.0, which
decodes to the same box.) The built-in quick set has 400 training pictures: without this the default model starts
to overfit after about 8 epochs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from tinycore.task import TaskData
from tinycore.vision.augment import relight

SHIFT_CELLS = 2  # shift pictures by up to this many head cells each way (16 px at stride 8)


def mirror_targets(t: torch.Tensor) -> torch.Tensor:
    """(B, C + 5, gh, gw) targets (apps.detection.targets.encode) of pictures mirrored left-right."""
    n = t.shape[1] - 5
    t = t.flip(3).clone()
    mask = t[:, n + 4]
    t[:, n] = torch.where(mask > 0, 1.0 - t[:, n], t[:, n])
    return t


def shift_cells(x: torch.Tensor, t: torch.Tensor, dy: int, dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One picture (C, H, W) and its targets (C + 5, gh, gw) moved by (dy, dx) cells: the picture by whole
    strides with its edge pixels repeated, the targets by cells with zeros coming in (an object whose centre
    leaves the grid loses its peak and box; the others keep theirs exactly)."""
    s = x.shape[1] // t.shape[1]
    m = max(abs(dy), abs(dx))
    if m == 0:
        return x, t
    h, w = x.shape[1:]
    gh, gw = t.shape[1:]
    xp = F.pad(x[None], (m * s,) * 4, mode="replicate")[0]
    tp = F.pad(t, (m,) * 4)
    y0, x0 = m - dy, m - dx
    return xp[:, y0 * s:y0 * s + h, x0 * s:x0 * s + w], tp[:, y0:y0 + gh, x0:x0 + gw]


def augment_batch(x: torch.Tensor, t: torch.Tensor, generator: torch.Generator | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    t = torch.where(flip[:, None, None, None], mirror_targets(t), t)
    if SHIFT_CELLS:
        d = torch.randint(-SHIFT_CELLS, SHIFT_CELLS + 1, (x.shape[0], 2), generator=generator).tolist()
        pairs = [shift_cells(x[i], t[i], dy, dx) for i, (dy, dx) in enumerate(d)]
        x, t = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
    return relight(x, generator), t


def _collate(batch):
    xs, ts = zip(*batch)
    return augment_batch(torch.stack(xs), torch.stack(ts))


def augmented_train_loader(data: TaskData, batch_size: int, progress: bool = True) -> DataLoader:
    """The training split with augment_batch applied per batch (what tinycore.train.fit takes)."""
    x, t = data.train
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(t)), batch_size=batch_size, shuffle=True,
                      collate_fn=_collate)
