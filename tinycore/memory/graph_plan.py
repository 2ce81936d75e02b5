"""Plan the SRAM arena of a whole graph: the schedule of one step per op, planned by `tinycore.memory.schedule`.

The arena holds the graph input (the caller's data is copied in), every intermediate, the output, and the
scratch of the kernels. `plan_graph(graph).arena_bytes` is the only SRAM figure the project reports and the exact
size of the C array `tc_arena`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinycore.ir.graph import Graph
from tinycore.memory.rules import ALIAS_KINDS, column_options, inplace_candidates, patch_rows, scratch_bytes
from tinycore.memory.schedule import Schedule, Step, check_schedule_plan, plan_schedule

ARENA_LIMIT_KEY = "arena_limit_bytes"  # graph.meta: the SRAM budget the plan may fill with faster kernels


@dataclass(frozen=True)
class LayerMemory:
    index: int
    name: str
    kind: str
    input_bytes: int
    output_bytes: int
    scratch_bytes: int
    live_bytes: int  # everything alive at this op (aligned sizes): what the arena must hold here
    inplace: bool
    columns: int = 0  # a conv's tc_conv_params.columns: 0 all that fit, k at most k, -1 none (column-free)


@dataclass(frozen=True)
class ArenaPlan:
    arena_bytes: int
    offsets: dict[str, int]  # every non-constant tensor -> byte offset in tc_arena
    inplace: dict[str, bool]  # op name -> output written over an input (offsets equal)
    scratch: dict[str, tuple[int, int]]  # op name -> (offset, bytes), only for ops that need scratch
    per_layer: list[LayerMemory] = field(default_factory=list)
    lower_bound_bytes: int = 0  # peak of live bytes for this schedule: no placement can do better

    @property
    def peak_layer(self) -> LayerMemory | None:
        return max(self.per_layer, key=lambda r: r.live_bytes, default=None)


def graph_schedule(graph: Graph) -> Schedule:
    """One step per op; the inputs are alive from step 0, the outputs to the end."""
    steps = []
    for i, op in enumerate(graph.ops):
        reads = tuple(n for n in op.inputs if not graph.tensors[n].is_constant)
        steps.append(Step(i, op.name, reads, op.outputs[0], tuple(inplace_candidates(op, graph)),
                          op.kind in ALIAS_KINDS,
                          (scratch_bytes(op, graph, False), scratch_bytes(op, graph, True)),
                          opt_in=patch_rows(op, graph) is not None,
                          scratch_options=tuple((scratch_bytes(op, graph, False, c), scratch_bytes(op, graph, True, c))
                                                for c in column_options(op, graph)[1:])))
    sizes = {t.name: t.nbytes for t in graph.activations()}
    return Schedule(tuple(steps), sizes, tuple((n, 0, 0) for n in graph.inputs), tuple(graph.outputs))


def plan_graph(graph: Graph, allow_inplace: bool = True, memory_first: bool = True,
               arena_limit: int | None = None) -> ArenaPlan:
    """The arena plan of a graph: the smallest of the in-place policies, refined op by op, checked for overlaps.

    memory_first (the default): a DSP conv gets the most columns (its im2col buffer) that keep the arena within
    `arena_limit`, down to none (its column-free path). The limit defaults to the graph's own
    `meta["arena_limit_bytes"]` (an app's export writes its SRAM budget there, so every later plan of that graph,
    firmware included, is the same: the fastest kernels that fit the budget); without one, the smallest arena.
    False plans every conv's full column area (faster, the arena may grow)."""
    if arena_limit is None:
        arena_limit = int(graph.meta.get(ARENA_LIMIT_KEY, 0))
    schedule = graph_schedule(graph)
    p = plan_schedule(schedule, allow_inplace, memory_first=memory_first, arena_limit=arena_limit)
    per_layer = []
    for step, op in enumerate(graph.ops):
        ins = sum(graph.tensors[n].nbytes for n in op.inputs if not graph.tensors[n].is_constant)
        per_layer.append(LayerMemory(step, op.name, op.kind, ins, graph.tensors[op.outputs[0]].nbytes,
                                     p.scratch.get(op.name, (0, 0))[1], p.live_bytes[step], p.inplace[op.name],
                                     column_options(op, graph)[p.choices[op.name]] if op.name in p.choices else 0))
    return ArenaPlan(p.arena_bytes, p.offsets, p.inplace, p.scratch, per_layer, max(p.live_bytes, default=0))


def check_plan(graph: Graph, plan: Any) -> None:
    """PlanError unless no two tensors (or scratch) alive at the same op share a byte, except by design (reshape,
    the ops `plan.inplace` marks). Takes any plan with arena_bytes, offsets, inplace and scratch (hand-made too)."""
    check_schedule_plan(graph_schedule(graph), plan.arena_bytes, plan.offsets, plan.inplace, plan.scratch)
