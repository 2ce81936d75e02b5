"""Per-layer memory table (text and dict rows) for `analyze` and report.json."""
from __future__ import annotations

from dataclasses import asdict

from tinycore.memory.graph_plan import ArenaPlan


def per_layer_rows(plan: ArenaPlan) -> list[dict]:
    return [asdict(r) for r in plan.per_layer]


def format_memory_table(plan: ArenaPlan) -> str:
    """A fixed-width table: one row per op with its input, output, scratch and live bytes; the peak is marked."""
    peak = plan.peak_layer
    lines = [f"{'#':>3} {'op':<28} {'kind':<20} {'in B':>9} {'out B':>9} {'scratch':>7} {'live B':>9}  note"]
    for r in plan.per_layer:
        note = ("in-place " if r.inplace else "") + ("<- peak" if peak is not None and r is peak else "")
        lines.append(f"{r.index:>3} {r.name[:28]:<28} {r.kind[:20]:<20} {r.input_bytes:>9,} {r.output_bytes:>9,} "
                     f"{r.scratch_bytes:>7,} {r.live_bytes:>9,}  {note.strip()}")
    lines.append(f"arena (planned, = tc_arena in C): {plan.arena_bytes:,} B; lower bound for this schedule: "
                 f"{plan.lower_bound_bytes:,} B")
    return "\n".join(lines)
