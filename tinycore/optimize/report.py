"""The Pareto plot of an optimize run: int8 accuracy of every trained candidate against Flash and against SRAM
(arena), the fronts joined, the limits dashed, the user's float model and the chosen candidate marked."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from tinycore.budget import Budget
from tinycore.optimize.select import pareto_front
from tinycore.plots import new_figure, save_figure


def plot_pareto(candidates: Sequence[dict[str, Any]], user: dict[str, Any], chosen: int, budget: Budget,
                path: str | Path, title: str) -> Path:
    fig, axes = new_figure(10, 4.2, ncols=2)
    for ax, key, limit, label in ((axes[0], "flash_bytes", budget.flash_bytes, "Flash (model constants), KB"),
                                  (axes[1], "arena_bytes", budget.sram_bytes, "SRAM arena, KB")):
        pts = [(c[key] / 1024, 100 * c["accuracy"]) for c in candidates]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=22, color="tab:blue", label="candidates (int8)")
        front = pareto_front(pts)
        ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], color="tab:blue", lw=1, label="Pareto front")
        ax.scatter([pts[chosen][0]], [pts[chosen][1]], s=80, facecolors="none", edgecolors="tab:red", lw=2,
                   label="chosen")
        ax.scatter([user[key] / 1024], [100 * user["accuracy"]], marker="*", s=120, color="tab:green",
                   label="user model (float acc., int8 memory)")
        ax.axvline(limit / 1024, ls="--", color="gray", lw=1, label="limit")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy, %")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
