"""Patch-based inference memory on MobileNetV2 (width 0.35 and 1.0; 144, 160, 224 px): one JSON line per model.

Figures: the arena without patches (tinycore.memory.plan_graph), with patches in both input modes (frame, stream)
and with the input frame left out (MCUNetV2's figure), and the MAC overhead of the halos. The plan is searched for
the grid (default 4x4) with the streamed-input arena as objective. The last row is a network found by the joint
network + patch search (tinycore.nas.joint) under --searched-sram (streamed input). Also writes patch_memory.json and
patch_memory.png to --out. Usage: python bench/patch_memory.py [--grid 4x4] [--out runs/bench/patch] [--searched-only]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = [(w, r) for w in (0.35, 1.0) for r in (144, 160, 224)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--grid", default="4x4")
    p.add_argument("--out", default="runs/bench/patch")
    p.add_argument("--max-overhead-pct", type=float, default=20.0)
    p.add_argument("--searched-sram", default="64KB", help="budget of the joint search's streamed-input arena")
    p.add_argument("--searched-only", action="store_true", help="only the searched net's row (no torch)")
    args = p.parse_args()
    if args.searched_only:
        print(json.dumps(_searched_row(args.grid, args.max_overhead_pct, args.searched_sram)), flush=True)
        return
    import torch

    from tinycore.patch.search import choose_plan
    from tinycore.quant import quantize
    from tinycore.spec import build_model, mobilenet_v2

    rows = []
    for width, res in MODELS:
        torch.manual_seed(0)
        model = build_model(mobilenet_v2(width, res)).eval()  # same layer shapes as before (checked: equal graphs, equal arenas)
        t0 = time.time()
        graph = quantize(model, [torch.randn(2, 3, res, res)])
        f = choose_plan(graph, args.grid, "stream", args.max_overhead_pct)
        row = {"bench": "patch_memory", "model": f"mobilenet_v2_w{width}_{res}", "width": width,
               "resolution_px": res, "grid": args.grid, "max_mac_overhead_pct": args.max_overhead_pct,
               "patch": f.to_json()["patch"], "arena_bytes_no_patch": f.arena_bytes_no_patch,
               "arena_bytes_frame": f.arena_bytes_frame, "arena_bytes_stream": f.arena_bytes_stream,
               "arena_bytes_input_excluded": f.arena_bytes_input_excluded, "mac_overhead_pct": f.mac_overhead_pct,
               "reduction_x_input_excluded": round(f.arena_bytes_no_patch / f.arena_bytes_input_excluded, 2),
               "seconds": round(time.time() - t0, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    row = _searched_row(args.grid, args.max_overhead_pct, args.searched_sram)
    rows.append(row)
    print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "patch_memory.json").write_text(json.dumps(rows, indent=1))
    _plot(rows, out / "patch_memory.png", args.grid)


def _searched_row(grid: str, max_overhead_pct: float, sram: str) -> dict:
    """A network found by the joint search (tinycore.nas.joint) in the receptive-field-redistributed
    MobileNetV2-like space at W0.35, 144 px, with the streamed-input arena under `sram`; figures from the int8
    graph shape (exact: tests/nas/test_cost.py checks it against the quantized graph)."""
    import numpy as np

    from bench.patch_redistribution import mbv2_space
    from tinycore.budget import Budget
    from tinycore.nas import EvolutionConfig, graph_shape, subnet_cost
    from tinycore.nas.joint import JointConfig, joint_evolve
    from tinycore.nas.patch_space import redistribute
    from tinycore.patch.plan import parse_patch
    from tinycore.patch.search import evaluate_plan

    t0 = time.time()
    space = redistribute(mbv2_space(), 2)
    cfg = JointConfig(grids=(parse_patch(grid).grid,), input_mode="stream", max_mac_overhead_pct=max_overhead_pct,
                      evolution=EvolutionConfig(population=12, generations=5, mutation_prob=0.3))
    res = joint_evolve(space, 0.35, 144, Budget.parse(sram, "1MB"),
                       lambda a: float(subnet_cost(space.to_spec(a, name=space.name)).macs), cfg,
                       np.random.default_rng(0))
    f = evaluate_plan(graph_shape(space.to_spec(res.best.arch, name=space.name)), res.best.cost.plan, "stream")
    return {"bench": "patch_memory", "model": f"searched_{space.name}_w0.35_144", "width": 0.35,
            "resolution_px": 144, "grid": grid, "max_mac_overhead_pct": max_overhead_pct, "sram_budget": sram,
            "arch": res.best.arch.short(), "macs": res.best.cost.macs, "patch": f.to_json()["patch"],
            "arena_bytes_no_patch": f.arena_bytes_no_patch, "arena_bytes_frame": f.arena_bytes_frame,
            "arena_bytes_stream": f.arena_bytes_stream, "arena_bytes_input_excluded": f.arena_bytes_input_excluded,
            "mac_overhead_pct": f.mac_overhead_pct,
            "reduction_x_input_excluded": round(f.arena_bytes_no_patch / f.arena_bytes_input_excluded, 2),
            "seconds": round(time.time() - t0, 1)}


def _plot(rows: list[dict], path: Path, grid: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("arena_bytes_no_patch", "no patches"), ("arena_bytes_frame", "patches, frame"),
            ("arena_bytes_stream", "patches, stream"), ("arena_bytes_input_excluded", "patches, input excluded")]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.2
    for k, (key, label) in enumerate(keys):
        ax.bar([i + (k - 1.5) * width for i in range(len(rows))], [r[key] / 1024 for r in rows], width, label=label)
    ax.set_xticks(range(len(rows)), [f"w{r['width']}@{r['resolution_px']}\n{r['patch']}" for r in rows], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("arena (KiB, log)")
    ax.axhline(256, color="k", ls=":", lw=1, label="256 KiB (STM32F412)")
    ax.set_title(f"MobileNetV2 arena with and without {grid} patches")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
