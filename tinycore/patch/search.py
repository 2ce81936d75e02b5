"""Choose a patch plan: explicit (NxM@opK), grid given (NxM: split searched) or auto (split and grid searched).

The objective is the exact arena of `tinycore.memory.patch_plan` in the requested input mode, under a cap on the
MAC overhead of the halos (default 20 %). Splits are tried as one patch stage, then as two chained stages (the
second one takes an early stage-2 block that is too large to run whole). A search never returns a plan whose
arena exceeds the arena without patches: it returns no plan instead, and says why. An explicit plan that cannot
be honoured raises an error naming the op and the reason.

For a network search (tinycore.nas): `best_patch_plan(graph, ...)` answers "the best patch plan and its exact
arena for this graph" in one call, without touching torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from tinycore.errors import TinycoreError, UnsupportedError
from tinycore.ir.graph import Graph
from tinycore.memory import plan_graph
from tinycore.memory.patch_plan import plan_patch_program
from tinycore.patch.plan import PatchPlan, PatchRequest, check_split, parse_patch
from tinycore.patch.program import build_program

DEFAULT_MAX_MAC_OVERHEAD_PCT = 20.0
AUTO_GRIDS = ((2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (2, 3), (3, 2), (3, 4), (4, 3))


@dataclass(frozen=True)
class PatchFigures:
    """The figures `analyze` reports for a plan (or for no plan: `plan` None, patched figures = unpatched)."""

    plan: PatchPlan | None
    input_mode: str
    arena_bytes: int  # the arena the generated C declares in this input mode
    arena_bytes_no_patch: int  # tinycore.memory.plan_graph
    arena_bytes_input_excluded: int  # the input frame outside the arena (MCUNetV2's figure)
    arena_bytes_frame: int
    arena_bytes_stream: int
    mac_overhead_pct: float
    reason: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["patch"] = "none" if self.plan is None else str(self.plan)
        d["plan"] = None if self.plan is None else {"splits": list(self.plan.splits), "grid": [
            self.plan.grid_rows, self.plan.grid_cols]}
        return d


def _arena(graph: Graph, plan: PatchPlan, mode: str, refine: bool = False) -> tuple[int, float]:
    prog = build_program(graph, plan, mode)
    return plan_patch_program(prog, refine=refine).arena_bytes, prog.mac_overhead_pct


def evaluate_plan(graph: Graph, plan: PatchPlan, input_mode: str = "frame") -> PatchFigures:
    """Exact figures of one plan in every input mode (errors name the op if the plan cannot apply)."""
    no_patch = plan_graph(graph).arena_bytes
    arenas = {}
    overhead = 0.0
    for mode in ("frame", "stream", "external"):
        arenas[mode], overhead = _arena(graph, plan, mode, refine=True)
    return PatchFigures(plan, input_mode, arenas[input_mode], no_patch, arenas["external"], arenas["frame"],
                        arenas["stream"], round(overhead, 3))


def _no_plan(graph: Graph, input_mode: str, reason: str) -> PatchFigures:
    a = plan_graph(graph).arena_bytes
    return PatchFigures(None, input_mode, a, a, a, a, a, 0.0, reason)


def _splits_for(graph: Graph, start: int) -> list[int]:
    return [i for i in range(start, len(graph.ops)) if not check_split(graph, i, start)]


Candidate = tuple[PatchPlan, int, float]  # plan, arena bytes (in-place policies, not refined), MAC overhead %


def search_split(graph: Graph, grid: tuple[int, int], input_mode: str = "frame",
                 max_mac_overhead_pct: float = DEFAULT_MAX_MAC_OVERHEAD_PCT,
                 max_stages: int = 2) -> list[Candidate]:
    """Every plan with this grid whose MAC overhead is within the cap, with its arena in `input_mode`.

    One-stage splits first; then two chained stages whose first split is one of those. A split that cannot take
    the grid (too few rows, a patch of padding only) is skipped; halos only grow with depth, so a scan stops at
    the first split over the cap.
    """
    found: list[Candidate] = []

    def consider(plan: PatchPlan) -> bool:
        try:
            arena, overhead = _arena(graph, plan, input_mode)
        except TinycoreError:
            return True
        if overhead > max_mac_overhead_pct:
            return False
        found.append((plan, arena, overhead))
        return True

    firsts = []
    for a in _splits_for(graph, 0):
        if not consider(PatchPlan((a,), *grid)):
            break
        firsts.append(a)
    if max_stages >= 2:
        for a in firsts:
            for b in _splits_for(graph, a + 1):
                if not consider(PatchPlan((a, b), *grid)):
                    break
    return found


def _pick(graph: Graph, found: list[Candidate], input_mode: str, n_final: int = 6,
          tolerance: float = 0.01) -> PatchFigures:
    """Evaluate the best few exactly (refined in-place choices, every input mode) and pick one: the smallest
    arena in `input_mode`; plans within `tolerance` of it are near-ties, broken by the input-excluded arena (it
    carries over to any input path), then by MAC overhead."""
    ranked = sorted(found, key=lambda r: (r[1], r[2], len(r[0].splits)))[:n_final]
    figs = [evaluate_plan(graph, plan, input_mode) for plan, _, _ in ranked]
    best = min(f.arena_bytes for f in figs)
    near = [f for f in figs if f.arena_bytes <= best * (1 + tolerance)]
    return min(near, key=lambda f: (f.arena_bytes_input_excluded, f.mac_overhead_pct, f.arena_bytes))


def choose_plan(graph: Graph, request: PatchRequest | str, input_mode: str = "frame",
                max_mac_overhead_pct: float = DEFAULT_MAX_MAC_OVERHEAD_PCT) -> PatchFigures:
    """Resolve --patch: explicit plans are honoured or refused with the reason; searches return no plan rather
    than one that is worse than no patches."""
    if isinstance(request, str):
        request = parse_patch(request)
    if request.grid is not None and request.splits is not None:
        return evaluate_plan(graph, PatchPlan(request.splits, *request.grid), input_mode)
    no_patch = plan_graph(graph).arena_bytes
    if request.grid is not None:
        found = search_split(graph, request.grid, input_mode, max_mac_overhead_pct)
    else:  # one-stage plans for every grid; chained stages for the two most promising grids
        found = []
        for grid in AUTO_GRIDS:
            found += search_split(graph, grid, input_mode, max_mac_overhead_pct, max_stages=1)
        grids: list[tuple[int, int]] = []
        for plan, _, _ in sorted(found, key=lambda r: r[1]):
            if (plan.grid_rows, plan.grid_cols) not in grids:
                grids.append((plan.grid_rows, plan.grid_cols))
        for grid in grids[:2]:
            found += [r for r in search_split(graph, grid, input_mode, max_mac_overhead_pct) if len(r[0].splits) > 1]
    if not found:
        if request.grid is not None:
            raise UnsupportedError(
                f"--patch {request.grid[0]}x{request.grid[1]}: no op of this graph can end a patch stage with this "
                f"grid within a MAC overhead of {max_mac_overhead_pct:g} % (the first ops must be convolutions, "
                f"pools, pads or adds and feed one tensor at least {request.grid[0]}x{request.grid[1]} pixels); "
                f"try a smaller grid, a higher overhead cap, or no --patch")
        return _no_plan(graph, input_mode, f"no patch plan within a MAC overhead of {max_mac_overhead_pct:g} %")
    figures = _pick(graph, found, input_mode)
    if figures.arena_bytes >= no_patch:
        if request.grid is not None:
            return replace(figures, reason=f"{figures.plan} does not shrink the arena "
                                           f"({figures.arena_bytes:,} B vs {no_patch:,} B without patches)")
        return _no_plan(graph, input_mode, f"the best plan {figures.plan} needs {figures.arena_bytes:,} B, not "
                                           f"less than {no_patch:,} B without patches: the first stage is "
                                           f"already small")
    return figures


def best_patch_plan(graph: Graph, grid: tuple[int, int] | None = None, input_mode: str = "frame",
                    max_mac_overhead_pct: float = DEFAULT_MAX_MAC_OVERHEAD_PCT) -> PatchFigures:
    """For a network search: the best plan (or none) and its exact arena for `graph`."""
    return choose_plan(graph, PatchRequest(grid, None), input_mode, max_mac_overhead_pct)
