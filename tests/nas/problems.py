"""Tiny spaces and data sets for the TinyNAS tests (seconds on 2 cores)."""
from __future__ import annotations

import numpy as np
import torch

from tinycore.nas import SearchSpace, StageSpec
from tinycore.spec.layers import Conv


def tiny_space(widths=(0.5, 1.0), resolutions=(16, 20), fixed: bool = False, classes: int = 4) -> SearchSpace:
    """Audio-like input 1 x R x 8 (R frames), three stages; `fixed` gives a constant 1 x 20 x 8 input."""
    return SearchSpace(stages=(StageSpec(8, 1, (1, 2)), StageSpec(16, 2, (2, 3)), StageSpec(24, 2, (1, 2))),
                       head_classes=classes, input_shape=(1, 20, 8) if fixed else (lambda r: (1, r, 8)),
                       widths=widths, resolutions=(20,) if fixed else resolutions, kernels=(3, 5, 7),
                       expands=(3, 4, 6), stem=Conv(8, kernel=3, stride=1, act="relu6"), name="tiny")


def blobs(n: int, seed: int, shape=(1, 20, 8), classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Class templates (fixed across calls) plus noise: learnable in an epoch or two."""
    templates = np.random.default_rng(123).normal(size=(classes, *shape)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(classes, size=n)
    x = templates[y] + 0.8 * rng.normal(size=(n, *shape)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y).long()
