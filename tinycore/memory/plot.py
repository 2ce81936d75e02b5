"""Per-layer memory bar chart (PNG): what is alive at each op, and the planned arena as a line."""
from __future__ import annotations

from pathlib import Path

from tinycore.memory.graph_plan import ArenaPlan
from tinycore.plots import save_figure


def plot_memory_profile(plan: ArenaPlan, path: str | Path, title: str = "model") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(plan.per_layer) + 2), 4))
    draw_memory_profile(ax, plan)
    ax.set_title(f"{title}: per-layer memory, arena {plan.arena_bytes / 1024:.1f} KiB")
    return save_figure(fig, path)


def draw_memory_profile(ax, plan: ArenaPlan) -> None:
    """The stacked per-op bars and the arena line on `ax` (also the lower panel of the per-op instruction plot)."""
    rows = plan.per_layer
    idx = [r.index for r in rows]
    ins = [r.input_bytes / 1024 for r in rows]
    outs = [0 if r.inplace else r.output_bytes / 1024 for r in rows]
    scratch = [r.scratch_bytes / 1024 for r in rows]
    other = [max(0.0, r.live_bytes / 1024 - a - b - c) for r, a, b, c in zip(rows, ins, outs, scratch)]
    ax.bar(idx, ins, label="input(s)", color="#4C72B0")
    ax.bar(idx, outs, bottom=ins, label="output (not in-place)", color="#DD8452")
    b2 = [a + b for a, b in zip(ins, outs)]
    ax.bar(idx, scratch, bottom=b2, label="scratch", color="#C44E52")
    b3 = [a + b for a, b in zip(b2, scratch)]
    ax.bar(idx, other, bottom=b3, label="other live tensors", color="#8C8C8C")
    ax.axhline(plan.arena_bytes / 1024, color="k", ls="--", lw=1, label=f"arena {plan.arena_bytes:,} B")
    ax.set_xlabel("op index")
    ax.set_ylabel("SRAM (KiB)")
    ax.legend(fontsize=8)
