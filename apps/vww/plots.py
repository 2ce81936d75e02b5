"""A picture grid of images with a model's predictions: what the confusion matrix counts, shown."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

COLOURS = {0: (150, 150, 150), 1: (40, 200, 40)}  # frame = predicted class: grey no person, green person
MISTAKE = (230, 30, 30)  # a red cross over a wrong prediction


def prediction_grid(images: NDArray[np.uint8], labels: NDArray, preds: NDArray, path: Path, cols: int = 8,
                    legend: str = "frame = prediction: green person, grey no person") -> Path:
    """PNG of images (N, H, W, 3): frame colour = predicted class, red corner cross = mistake; title counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinycore.plots import save_figure

    n = len(images)
    rows = max(1, -(-n // cols))
    h, w = images.shape[1:3] if n else (96, 96)
    sheet = np.full((rows * (h + 6), cols * (w + 6), 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        tile = np.full((h + 6, w + 6, 3), COLOURS[int(preds[i])], np.uint8)
        tile[3:-3, 3:-3] = images[i]
        if int(preds[i]) != int(labels[i]):
            k = np.arange(min(h, w) // 4)
            for d in (-1, 0, 1):  # a thick red X in the upper left corner
                tile[3 + k, np.clip(3 + k + d, 0, w + 5)] = MISTAKE
                tile[3 + k, np.clip(3 + k[::-1] + d, 0, w + 5)] = MISTAKE
        sheet[r * (h + 6):(r + 1) * (h + 6), c * (w + 6):(c + 1) * (w + 6)] = tile
    wrong = int(np.sum(np.asarray(preds) != np.asarray(labels)))
    fig, ax = plt.subplots(figsize=(cols * 1.1, rows * 1.1 + 0.5))
    ax.imshow(sheet)
    ax.axis("off")
    ax.set_title(f"{n} images, {wrong} wrong (red X); {legend}", fontsize=8)
    return save_figure(fig, Path(path))
