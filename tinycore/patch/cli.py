"""The `--patch` / `--input-mode` options of `python -m tinycore analyze|generate|validate`.

analyze --json gains arena_bytes (with the chosen plan, in the input mode), arena_bytes_no_patch,
arena_bytes_input_excluded, arena_bytes_frame, arena_bytes_stream, mac_overhead_pct, patch ("4x4@op12", or
"none" when a search finds nothing better than no patches, with patch_reason) and input_mode.
"""
from __future__ import annotations

import sys
from pathlib import Path

from tinycore.ir.graph import Graph
from tinycore.patch.search import PatchFigures, choose_plan


def resolve(graph: Graph, patch: str, input_mode: str) -> PatchFigures:
    figures = choose_plan(graph, patch, input_mode)
    if figures.plan is None or figures.reason:
        print(f"--patch {patch}: {figures.reason}", file=sys.stderr)
    return figures


def patch_report(graph: Graph, patch: str, input_mode: str, rep: dict, plot: str | None = None,
                 title: str = "model") -> PatchFigures:
    """Add the patch figures to an analyze report (in place); draw the with/without plot if asked."""
    figures = resolve(graph, patch, input_mode)
    j = figures.to_json()
    rep.update(arena_bytes=figures.arena_bytes, arena_bytes_no_patch=figures.arena_bytes_no_patch,
               arena_bytes_input_excluded=figures.arena_bytes_input_excluded,
               arena_bytes_frame=figures.arena_bytes_frame, arena_bytes_stream=figures.arena_bytes_stream,
               mac_overhead_pct=figures.mac_overhead_pct, patch=j["patch"], patch_plan=j["plan"],
               input_mode=input_mode, patch_reason=figures.reason)
    if plot:
        from tinycore.patch.plot import plot_patch_memory

        plot_patch_memory(graph, figures.plan, input_mode, plot, title)
        rep["plot"] = str(plot)
    return figures


def format_patch_summary(rep: dict) -> str:
    return (f"patch {rep['patch']} (input mode {rep['input_mode']}): arena {rep['arena_bytes']:,} B; without "
            f"patches {rep['arena_bytes_no_patch']:,} B; input frame excluded {rep['arena_bytes_input_excluded']:,} "
            f"B; frame {rep['arena_bytes_frame']:,} B, stream {rep['arena_bytes_stream']:,} B; MAC overhead "
            f"{rep['mac_overhead_pct']:.2f} %" + (f" ({rep['patch_reason']})" if rep.get("patch_reason") else ""))


def generate_patched(graph: Graph, patch: str, input_mode: str, out: str | Path, inputs: list):
    """Write the patched C folder; a search that finds no plan writes the plain C (and says so on stderr)."""
    from tinycore.export import generate_c
    from tinycore.export.patch_codegen import generate_patch_c
    from tinycore.patch.program import build_program

    figures = resolve(graph, patch, input_mode)
    if figures.plan is None:
        return generate_c(graph, out, test_inputs=inputs), "none"
    return generate_patch_c(graph, build_program(graph, figures.plan, input_mode), out, test_inputs=inputs), \
        str(figures.plan)


def validate_patched_cli(graph: Graph, patch: str, input_mode: str, target: str, n: int, seed: int) -> dict:
    from tinycore.export.validate import validate
    from tinycore.patch.validate import validate_patched

    figures = resolve(graph, patch, input_mode)
    if figures.plan is None:
        return {**validate(graph, target=target, n=n, seed=seed), "patch": "none", "input_mode": input_mode}
    return validate_patched(graph, figures.plan, target=target, n=n, seed=seed, input_mode=input_mode)
