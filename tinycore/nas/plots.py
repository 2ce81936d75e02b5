"""Plots of a search (matplotlib, Agg): stage-1 MACs CDFs of fitting subnets, accuracy vs SRAM of candidates."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycore.nas.evolution import Candidate
from tinycore.nas.stage1 import Stage1Result
from tinycore.plots import new_figure, save_figure


def plot_stage1_cdf(result: Stage1Result, path: Path, title: str = "") -> Path:
    """One CDF per (W, R) of the MACs of its subnets that fit; the chosen space drawn thick."""
    fig, ax = new_figure(7, 4.5)
    for s in result.samples:
        macs = np.sort(np.asarray(s.macs, dtype=np.int64)[s.fit_mask(result.budget)]) / 1e6
        if macs.size == 0:
            continue
        chosen = (s.width, s.resolution) == (result.width, result.resolution)
        ax.step(macs, np.arange(1, macs.size + 1) / macs.size, where="post", lw=2.5 if chosen else 1,
                label=f"W{s.width:g} R{s.resolution} ({macs.size}/{len(s.macs)} fit)" + (" *" if chosen else ""))
    b = result.budget
    ax.set_xlabel("MMACs of subnets within budget")
    ax.set_ylabel("cumulative share")
    ax.set_title(title or f"stage 1: SRAM {b.sram_bytes // 1024} KB, Flash {b.flash_bytes // 1024} KB")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def plot_candidates(candidates: tuple[Candidate, ...] | list[Candidate], best: Candidate, sram_bytes: int,
                    path: Path, metric_name: str = "accuracy", title: str = "",
                    flash_bytes: int | None = None) -> Path:
    """Score vs int8 arena (and, with flash_bytes, vs Flash in a second panel) of every evaluated candidate,
    coloured by generation; the budgets as lines. Whichever limit binds shows as the wall the points pile up at."""
    panels = [("arena_bytes", "int8 arena (KB)", sram_bytes, "SRAM")]
    if flash_bytes is not None:
        panels.append(("flash_bytes", "Flash: weights + int8 graph constants (KB)", flash_bytes, "Flash"))
    fig, axes = new_figure(7 * len(panels), 4.5, ncols=len(panels))
    axes = np.atleast_1d(axes)
    scores, gens = [c.score for c in candidates], [c.generation for c in candidates]
    for ax, (field, label, limit, name) in zip(axes, panels):
        kb = np.array([getattr(c, field) for c in candidates]) / 1024
        sc = ax.scatter(kb, scores, c=gens, cmap="viridis", s=14)
        ax.scatter([getattr(best, field) / 1024], [best.score], marker="*", s=180, c="red", label="best")
        ax.axvline(limit / 1024, color="grey", ls="--", label=f"{name} budget {limit // 1024} KB")
        ax.set_xlabel(label)
        ax.set_ylabel(f"supernet subnet {metric_name}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.colorbar(sc, ax=axes[-1], label="generation")
    fig.suptitle(title or f"evolution: {len(candidates)} candidates")
    return save_figure(fig, path)


def plot_budget_grid(rows: list[dict], path: Path, title: str = "") -> Path:
    """Stage-1 choice per SRAM x Flash budget (MCUNet fig. 3 style): cell colour = mean MMACs of the fitting
    subnets of the chosen space, text = the chosen (W, R); '-' where nothing fits."""
    srams = sorted({r["sram_bytes"] for r in rows})
    flashes = sorted({r["flash_bytes"] for r in rows})
    cell = {(r["sram_bytes"], r["flash_bytes"]): r for r in rows}
    grid = np.array([[cell[(s, f)]["mean_macs_fit"] / 1e6 for f in flashes] for s in srams])
    fig, ax = new_figure(1.6 * len(flashes) + 2.5, 0.8 * len(srams) + 1.8)
    im = ax.imshow(np.ma.masked_equal(grid, 0.0), cmap="viridis", origin="lower", aspect="auto")
    fig.colorbar(im, ax=ax, label="mean MMACs of fitting subnets")
    for i, s in enumerate(srams):
        for j, f in enumerate(flashes):
            r = cell[(s, f)]
            text = "-" if r["width"] is None else f"W{r['width']:g} R{r['resolution']}\n{r['fit_share']:.0%} fit"
            dark = r["width"] is not None and grid[i, j] < 0.6 * grid.max()
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(flashes)), [f"{f // 1024} KB" for f in flashes])
    ax.set_yticks(range(len(srams)), [f"{s // 1024} KB" for s in srams])
    ax.set_xlabel("Flash budget")
    ax.set_ylabel("SRAM budget")
    ax.set_title(title or "stage 1: best (W, R) per budget")
    return save_figure(fig, path)
