"""Receptive-field redistribution, measured: a MobileNetV2-like TinyNAS space before and after, on the same budget.

For each setting (budget, input mode, width, resolution) and each space (the base space; the space with its first
two stages cut to 3x3 kernels and one block each, and 5x5/7x7 kernels plus one more block allowed after):
  - "samples": random subnets; for each, the plan with the grid split at the end of the first two stages (MAC
    overhead and arena, in-place policies not refined), and the best one-stage plan with the grid whose split ends
    in the first two stages (smallest exact arena in the input mode, MAC overhead capped), refined as
    tinycore.patch does; the mean MAC overhead and arena of those plans, and the share of subnets with a plan;
  - "joint": the joint evolution (tinycore.nas.joint; score = the network's MACs, the stage-1 proxy for accuracy)
    and its winner: plan, arena, MAC overhead, MACs.
One JSON line per (setting, space). Usage: python bench/patch_redistribution.py [--samples 40] [--quick]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinycore.budget import Budget  # noqa: E402
from tinycore.errors import BudgetError  # noqa: E402
from tinycore.memory import plan_graph  # noqa: E402
from tinycore.memory.patch_plan import plan_patch_program  # noqa: E402
from tinycore.nas import EvolutionConfig, SearchSpace, StageSpec, graph_shape, subnet_cost  # noqa: E402
from tinycore.nas.joint import JointConfig, joint_evolve, split_op  # noqa: E402
from tinycore.nas.patch_space import Redistribution, receptive_field, redistribute  # noqa: E402
from tinycore.patch.plan import PatchPlan  # noqa: E402
from tinycore.patch.program import build_program  # noqa: E402
from tinycore.patch.search import search_split  # noqa: E402
from tinycore.spec.layers import Conv  # noqa: E402

SETTINGS = [  # (sram, input mode, width, resolution, grid)
    ("64KB", "stream", 0.35, 128, (4, 4)),
    ("256KB", "frame", 0.5, 160, (3, 3)),
]
MAX_OVERHEAD_PCT = 20.0


def mbv2_space() -> SearchSpace:
    return SearchSpace(stages=(StageSpec(16, 1, (1,)), StageSpec(24, 2, (2, 3, 4)), StageSpec(40, 2, (2, 3, 4)),
                               StageSpec(80, 2, (2, 3, 4)), StageSpec(96, 1, (2, 3, 4)),
                               StageSpec(160, 2, (2, 3, 4))),
                       head_classes=2, input_shape=lambda r: (3, r, r), widths=(0.35, 0.5), resolutions=(96, 128, 160),
                       kernels=(3, 5, 7), expands=(3, 4, 6), stem=Conv(32, kernel=3, stride=2, act="relu6"),
                       name="mbv2")


def sample_stats(space: SearchSpace, width: float, res: int, grid: tuple[int, int], mode: str, n: int,
                 rng: np.random.Generator) -> dict:
    """Best patch plan (split within the first two stages) of n random subnets."""
    overheads, arenas, rfs, n_plan = [], [], [], 0
    end_overheads, end_arenas = [], []
    for _ in range(n):
        arch = space.sample(rng, width, res)
        graph = graph_shape(space.to_spec(arch, name=space.name))
        last = split_op(graph, sum(arch.depths[:2]))
        rfs.append(receptive_field(space, arch, sum(arch.depths[:2])))
        end = build_program(graph, PatchPlan((last,), *grid), mode)  # the split at the patch stage's end
        end_overheads.append(end.mac_overhead_pct)
        end_arenas.append(plan_patch_program(end).arena_bytes)
        found = [f for f in search_split(graph, grid, mode, MAX_OVERHEAD_PCT, max_stages=1)
                 if f[0].split_op <= last]
        if not found:
            continue
        plan = min(found, key=lambda f: (f[1], f[2]))[0]
        prog = build_program(graph, plan, mode)
        arena = plan_patch_program(prog, refine=True).arena_bytes
        if arena >= plan_graph(graph).arena_bytes:
            continue
        n_plan += 1
        overheads.append(prog.mac_overhead_pct)
        arenas.append(arena)
    return {"n_samples": n, "share_with_plan": round(n_plan / n, 3),
            "mean_patch_stage_rf_px": round(float(np.mean(rfs)), 1),
            "split_at_stage_end": {"mean_mac_overhead_pct": round(float(np.mean(end_overheads)), 2),
                                   "mean_arena_bytes": int(np.mean(end_arenas))},
            "mean_mac_overhead_pct": round(float(np.mean(overheads)), 2) if overheads else None,
            "mean_arena_bytes": int(np.mean(arenas)) if arenas else None,
            "min_arena_bytes": int(min(arenas)) if arenas else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="first setting only, 10 samples, 6 x 3 evolution")
    args = p.parse_args()
    settings = SETTINGS[:1] if args.quick else SETTINGS
    if args.quick:
        args.samples, args.population, args.generations = 10, 6, 3
    base = mbv2_space()
    spaces = {"base": base, "redistributed": redistribute(base, Redistribution(2, (3,), 1, (5, 7), 1))}
    for sram, mode, width, res, grid in settings:
        budget = Budget.parse(sram, "1MB")
        for label, space in spaces.items():
            t0 = time.time()
            stats = sample_stats(space, width, res, grid, mode, args.samples, np.random.default_rng(0))
            cfg = JointConfig(grids=(None, (2, 2), (3, 3), (4, 4)), input_mode=mode,
                              max_mac_overhead_pct=MAX_OVERHEAD_PCT,
                              evolution=EvolutionConfig(population=args.population, generations=args.generations,
                                                        mutation_prob=0.3))
            row = {"bench": "patch_redistribution", "space": label, "sram_bytes": budget.sram_bytes,
                   "input_mode": mode, "width": width, "resolution_px": res, "grid": f"{grid[0]}x{grid[1]}",
                   "max_mac_overhead_pct": MAX_OVERHEAD_PCT, "samples": stats}
            try:
                res_ = joint_evolve(space, width, res, budget,
                                    lambda a, s=space: float(subnet_cost(s.to_spec(a, name=s.name)).macs), cfg,
                                    np.random.default_rng(0))
                b = res_.best
                row["joint"] = {"arch": b.arch.short(), "patch": b.patch, "arena_bytes": b.cost.arena_bytes,
                                "arena_bytes_no_patch": b.cost.arena_bytes_no_patch,
                                "mac_overhead_pct": b.cost.mac_overhead_pct, "macs": b.cost.macs,
                                "flash_bytes": b.cost.flash_bytes, "n_candidates": len(res_.candidates),
                                "rejected": res_.rejected}
            except BudgetError as e:  # a space where nothing fits is a result too
                row["joint"] = {"error": str(e)[:300]}
            row["seconds"] = round(time.time() - t0, 1)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
