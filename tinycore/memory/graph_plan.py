"""Plan the SRAM arena of a whole graph: lifetimes, reshape aliases, in-place ops, scratch.

The arena holds the graph input (the caller's data is copied in), every intermediate, the output, and the
scratch of in-place kernels. `plan_graph(graph).arena_bytes` is the only SRAM figure the project reports and
the exact size of the C array `tc_arena`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycore.ir.graph import Graph
from tinycore.memory.planner import Buffer, live_bytes_per_step, plan_arena
from tinycore.memory.rules import ALIAS_KINDS, inplace_candidates, scratch_bytes


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


class _Groups:
    """Tensors that share one buffer (reshape aliases, in-place outputs): union-find with lifetimes."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def join(self, keep: str, other: str) -> None:
        self.parent[self.find(other)] = self.find(keep)


def _lifetimes(graph: Graph) -> dict[str, list[int]]:
    n = len(graph.ops)
    life: dict[str, list[int]] = {name: [0, 0] for name in graph.inputs}
    for step, op in enumerate(graph.ops):
        for name in op.inputs:
            if name in life:
                life[name][1] = max(life[name][1], step)
        life[op.outputs[0]] = [step, step]
    for name in graph.outputs:
        life[name][1] = n - 1
    return life


def _plan(graph: Graph, policy: str) -> ArenaPlan:
    """policy: 'none' (no in-place), 'all' (wherever legal), 'same_size' (only where output and input sizes match)."""
    life = _lifetimes(graph)
    groups = _Groups()
    glife: dict[str, list[int]] = {k: list(v) for k, v in life.items()}
    gsize: dict[str, int] = {k: graph.tensors[k].nbytes for k in life}
    pinned = set(graph.outputs)  # outputs must survive to the end: nothing may overwrite them early
    inplace: dict[str, bool] = {}
    scratch_need: dict[str, tuple[int, int]] = {}  # op name -> (step, bytes)

    def merge(keep_tensor: str, new_tensor: str) -> None:
        root = groups.find(keep_tensor)
        glife[root] = [min(glife[root][0], life[new_tensor][0]), max(glife[root][1], life[new_tensor][1])]
        gsize[root] = max(gsize[root], gsize[new_tensor])
        groups.join(root, new_tensor)

    for step, op in enumerate(graph.ops):
        out = op.outputs[0]
        done = False
        if op.kind in ALIAS_KINDS:
            merge(op.inputs[0], out)
            done = True
        elif policy != "none":
            for cand in inplace_candidates(op, graph):
                if policy == "same_size" and graph.tensors[cand].nbytes != graph.tensors[out].nbytes:
                    continue
                root = groups.find(cand)
                members_pinned = any(groups.find(p) == root for p in pinned if p in life)
                if glife[root][1] == step and not members_pinned:
                    merge(cand, out)
                    done = True
                    break
        inplace[op.name] = done and op.kind not in ALIAS_KINDS
        need = scratch_bytes(op, graph, inplace[op.name])
        if need:
            scratch_need[op.name] = (step, need)

    roots = sorted(dict.fromkeys(groups.find(t) for t in life), key=lambda r: glife[r][0])  # stable: no set order
    buffers = [Buffer(r, gsize[r], glife[r][0], glife[r][1]) for r in roots]
    buffers += [Buffer(f"scratch:{name}", size, step, step) for name, (step, size) in scratch_need.items()]
    placement = plan_arena(buffers)
    offsets = {t: placement.offsets[groups.find(t)] for t in life}
    scratch = {name: (placement.offsets[f"scratch:{name}"], size) for name, (_, size) in scratch_need.items()}
    live = live_bytes_per_step(buffers, len(graph.ops))
    per_layer = []
    for step, op in enumerate(graph.ops):
        ins = sum(graph.tensors[n].nbytes for n in op.inputs if not graph.tensors[n].is_constant)
        per_layer.append(LayerMemory(step, op.name, op.kind, ins, graph.tensors[op.outputs[0]].nbytes,
                                     scratch_need.get(op.name, (0, 0))[1], live[step], inplace[op.name]))
    return ArenaPlan(placement.peak_bytes, offsets, inplace, scratch, per_layer, max(live, default=0))


def plan_graph(graph: Graph, allow_inplace: bool = True) -> ArenaPlan:
    """The arena plan of a graph.

    An in-place op keeps its input's buffer alive at the input's size, which can cost more than it saves when the
    output is smaller; so three policies are planned and the smallest arena is kept (ties favour fewer in-place ops).
    """
    plans = [_plan(graph, "none")]
    if allow_inplace:
        plans += [_plan(graph, "same_size"), _plan(graph, "all")]
    return min(plans, key=lambda p: p.arena_bytes)


def check_plan(graph: Graph, plan: ArenaPlan) -> None:
    """Invariant check used by tests: tensors alive at the same step never overlap unless they share a buffer."""
    life = _lifetimes(graph)
    spans = {t: (plan.offsets[t], plan.offsets[t] + graph.tensors[t].nbytes) for t in life}
    for t, (lo, hi) in spans.items():
        assert hi <= plan.arena_bytes, f"{t} ends at {hi} beyond the arena {plan.arena_bytes}"
    names = list(life)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = life[a], life[b]
            if la[0] <= lb[1] and lb[0] <= la[1]:
                same = spans[a][0] == spans[b][0]
                disjoint = spans[a][1] <= spans[b][0] or spans[b][1] <= spans[a][0]
                assert same or disjoint, f"{a} {spans[a]} and {b} {spans[b]} overlap while both alive"
    assert all(o % 4 == 0 for o in plan.offsets.values())
