"""The memory profile with and without patch-based inference (tinycore.patch) for a run's int8 graph.

An image model's first layers hold the largest activations; running them patch by patch (MCUNetV2) lowers the
arena. `export` and `demo` of the VWW app add `memory_patches.png` and report.json "memory_patches" (the
automatic plan's arena, the arena without patches and the MAC overhead) after the shared steps.
"""
from __future__ import annotations

import argparse

from tinycore.cli import app
from tinycore.report import RunDir
from tinycore.task import Task

PATCH = "auto"  # tinycore.patch.search picks the grid and split
INPUT_MODE = "frame"  # the whole camera frame is in SRAM (a DMA buffer), as in this app's firmware


def patch_memory(run: RunDir, quiet: bool = True) -> dict:
    """Plot and record the per-layer memory with and without patches; returns the report section."""
    from tinycore.ir import load_graph
    from tinycore.patch.cli import patch_report
    from tinycore.progress import log

    graph = load_graph(run.need(run.graph_path, "export"))
    rep: dict = {}
    patch_report(graph, PATCH, INPUT_MODE, rep, plot=str(run.path / "memory_patches.png"), title="vww")
    section = {k: v for k, v in rep.items() if k != "patch_plan"}
    run.update_report(memory_patches=section)
    log(f"patches {section['patch']}: arena {section['arena_bytes']:,} B (without patches "
        f"{section['arena_bytes_no_patch']:,} B), MAC overhead {section['mac_overhead_pct']:.2f} % "
        f"({run.path / 'memory_patches.png'})", quiet=quiet)
    return section


def with_patch_memory(command):
    """A shared command (app.cmd_export, app.cmd_demo) followed by patch_memory on its run folder."""
    def run_command(task: Task, args: argparse.Namespace) -> int:
        rc = command(task, args)
        run = app._run_dir(args, "demo" if args.command == "demo" else "default")
        if rc == 0 and not run.load_report().get("memory", {}).get("patch_plan"):  # a searched plan keeps its plot
            patch_memory(run, quiet=args.quiet)
        return rc
    return run_command


COMMANDS = {"export": with_patch_memory(app.cmd_export), "demo": with_patch_memory(app.cmd_demo)}
