"""Plots of a search (matplotlib, Agg): stage-1 MACs CDFs of fitting subnets, accuracy vs SRAM of candidates."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tinycore.nas.evolution import Candidate  # noqa: E402
from tinycore.nas.stage1 import Stage1Result  # noqa: E402


def plot_stage1_cdf(result: Stage1Result, path: Path, title: str = "") -> Path:
    """One CDF per (W, R) of the MACs of its subnets that fit; the chosen space drawn thick."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_candidates(candidates: tuple[Candidate, ...] | list[Candidate], best: Candidate, sram_bytes: int,
                    path: Path, metric_name: str = "accuracy", title: str = "") -> Path:
    """Score vs arena bytes of every evaluated candidate, coloured by generation; the budget as a line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    kb = np.array([c.arena_bytes for c in candidates]) / 1024
    sc = ax.scatter(kb, [c.score for c in candidates], c=[c.generation for c in candidates], cmap="viridis", s=14)
    fig.colorbar(sc, ax=ax, label="generation")
    ax.scatter([best.arena_bytes / 1024], [best.score], marker="*", s=180, c="red", label="best")
    ax.axvline(sram_bytes / 1024, color="grey", ls="--", label=f"SRAM budget {sram_bytes // 1024} KB")
    ax.set_xlabel("int8 arena (KB)")
    ax.set_ylabel(f"supernet subnet {metric_name}")
    ax.set_title(title or f"evolution: {len(candidates)} candidates")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
