"""Plot of a search-space evolution: explored (ratio, tokens) spaces coloured by score, the path as arrows."""
from __future__ import annotations

from pathlib import Path

from tinycore.former.space_evolution import SpaceEvolutionResult, SpaceGrid
from tinycore.plots import new_figure, save_figure


def plot_space_evolution(result: SpaceEvolutionResult, grid: SpaceGrid, path: Path, title: str = "") -> Path:
    """Grid of (low-rank ratio, token count); each explored space shows its latest score; the path of the chosen
    space drawn as arrows, the final space starred."""
    fig, ax = new_figure(6, 4.5)
    latest = {}
    for s in result.scores:
        if s.space not in latest or s.epochs >= latest[s.space].epochs:
            latest[s.space] = s
    xs = [grid.index(s.space)[0] for s in latest.values()]
    ys = [grid.index(s.space)[1] for s in latest.values()]
    pts = ax.scatter(xs, ys, c=[s.score for s in latest.values()], cmap="viridis", s=120, zorder=2)
    fig.colorbar(pts, ax=ax, label="space score (latest epochs)")
    for a, b in zip(result.path, result.path[1:]):
        (x0, y0), (x1, y1) = grid.index(a), grid.index(b)
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "red", "lw": 1.5}, zorder=3)
    cx, cy = grid.index(result.chosen)
    ax.scatter([cx], [cy], marker="*", s=320, c="red", zorder=4, label=f"chosen {result.chosen.short()}")
    ax.set_xticks(range(len(grid.rank_ratios)), [f"{r:g}" for r in grid.rank_ratios])
    ax.set_yticks(range(len(grid.token_counts)), [str(t) for t in grid.token_counts])
    ax.set_xlabel("low-rank ratio")
    ax.set_ylabel("tokens")
    ax.set_title(title or f"search-space evolution ({result.stop_reason} after {len(result.path) - 1} moves)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)
