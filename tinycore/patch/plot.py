"""Per-layer memory with and without patches (PNG): live bytes at each op, and both arenas as lines."""
from __future__ import annotations

from pathlib import Path

from tinycore.ir.graph import Graph
from tinycore.patch.plan import PatchPlan
from tinycore.plots import save_figure


def plot_patch_memory(graph: Graph, plan: PatchPlan | None, input_mode: str, path: str | Path,
                      title: str = "model") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinycore.memory import plan_graph
    from tinycore.memory.patch_plan import plan_patch_program
    from tinycore.patch.program import build_program

    base = plan_graph(graph)
    idx = list(range(len(graph.ops)))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * len(idx) + 2), 4))
    ax.bar([i - 0.2 for i in idx], [r.live_bytes / 1024 for r in base.per_layer], width=0.4, color="#8C8C8C",
           label="without patches")
    ax.axhline(base.arena_bytes / 1024, color="#8C8C8C", ls="--", lw=1, label=f"arena {base.arena_bytes:,} B")
    name = "no patch plan"
    if plan is not None:
        pp = plan_patch_program(build_program(graph, plan, input_mode), refine=True)
        ax.bar([i + 0.2 for i in idx], [b / 1024 for b in pp.live_by_op(len(idx))], width=0.4, color="#4C72B0",
               label=f"patches {plan} ({input_mode})")
        ax.axhline(pp.arena_bytes / 1024, color="#4C72B0", ls="--", lw=1, label=f"arena {pp.arena_bytes:,} B")
        ax.axvline(plan.split_op + 0.5, color="k", lw=0.8, ls=":")
        name = str(plan)
    ax.set_xlabel("op index")
    ax.set_ylabel("live SRAM (KiB)")
    ax.set_title(f"{title}: per-layer memory with and without patches ({name})")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
