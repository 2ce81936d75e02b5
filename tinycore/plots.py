"""Figures for reports: one way to make and save them (matplotlib with the Agg backend, PNG at 110 dpi)."""
from __future__ import annotations

from pathlib import Path


def new_figure(width_in: float, height_in: float, ncols: int = 1, nrows: int = 1):
    """(fig, ax) on the Agg backend, so plots work on servers without a display (ax: an array when ncols > 1 or
    nrows > 1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width_in, height_in))


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, write the PNG (creating its folder) and free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
