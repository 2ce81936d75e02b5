"""Plan the SRAM arena of a patch program: one set of per-patch buffers, the stage-2 input, the input, stage 2.

The schedule is one patch's steps (every patch runs the same steps on buffers at the same offsets, each sized
for its largest patch) followed by stage 2. The stage-2 input is alive from the first patch on (patches fill it
tile by tile); the input buffer - the whole frame in "frame" mode, the largest row band in "stream" mode, none in
"external" mode - is alive over the whole patch stage. In-place ops follow `tinycore.memory.rules` (in the patch
stage only where legal for every patch); as in `plan_graph`, three in-place policies are planned and the
smallest arena kept. `arena_bytes` is the exact size of the generated `tc_arena`.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinycore.memory.planner import Buffer, live_bytes_per_step, plan_arena
from tinycore.memory.rules import ALIAS_KINDS, inplace_candidates, scratch_bytes


@dataclass(frozen=True)
class _Step:
    label: int  # graph op index this step belongs to (copies: the op they feed; the place: the split op)
    op_name: str | None  # None for copies
    reads: tuple[str, ...]
    writes: str
    candidates: tuple[str, ...]  # inputs the output may overwrite (legal for every patch)
    alias: bool
    scratch_if_inplace: int


@dataclass(frozen=True)
class PatchArenaPlan:
    arena_bytes: int
    offsets: dict[str, int]  # tensor (per-patch "p:" names, stage-2 input, stage 2, input buffer) -> offset
    inplace: dict[str, bool]  # op name -> output written over an input
    scratch: dict[str, tuple[int, int]]  # op name -> (offset, bytes)
    sizes: dict[str, int]  # tensor -> buffer bytes (largest patch)
    live_bytes: list[int]  # per schedule step
    step_ops: list[int]  # per schedule step: graph op index
    lower_bound_bytes: int

    def live_by_op(self, n_ops: int) -> list[int]:
        """Largest live bytes of the steps that belong to each graph op (for the per-layer plot)."""
        out = [0] * n_ops
        for step, op_index in enumerate(self.step_ops):
            out[op_index] = max(out[op_index], self.live_bytes[step])
        return out


def _schedule(program) -> tuple[list[_Step], dict[str, int], list[tuple[str, int, int]]]:
    """Steps of the whole inference, buffer sizes, and (buffer, first, last) spans held over a patch stage."""
    from tinycore.patch.program import Copy, ReadRows

    graph = program.graph
    index = {op.name: i for i, op in enumerate(graph.ops)}
    sizes: dict[str, int] = {}
    steps: list[_Step] = []
    held: list[tuple[str, int, int]] = []
    for stage in program.stages:
        first = len(steps)
        template = stage.template
        pending: list[tuple[str, str]] = []  # copies waiting for the op they feed: (src, dst)
        for st in template.steps:
            if isinstance(st, ReadRows):
                continue
            if isinstance(st, Copy):
                sizes[st.dst] = stage.tensor_bytes(st.dst) if template.is_local(st.dst) else \
                    graph.tensors[st.dst].nbytes
                pending.append((st.src, st.dst))
                continue
            for src, dst in pending:
                steps.append(_Step(index[st.name], None, (src,) if template.is_local(src) else (), dst, (), False, 0))
            pending = []
            pos = next(k for k, op in enumerate(template.graph.ops) if op.name == st.name)
            cands = list(inplace_candidates(st, template.graph))
            for p in stage.patches[1:]:
                ok = set(inplace_candidates(p.graph.ops[pos], p.graph))
                cands = [c for c in cands if c in ok]
            sizes[st.outputs[0]] = stage.tensor_bytes(st.outputs[0])
            need = max(scratch_bytes(p.graph.ops[pos], p.graph, True) for p in stage.patches)
            reads = tuple(n for n in st.inputs if template.is_local(n))
            steps.append(_Step(index[st.name], st.name, reads, st.outputs[0], tuple(cands), False, need))
        for src, dst in pending:  # the place into the stage's output
            steps.append(_Step(stage.split_op, None, (src,), dst, (), False, 0))
        if stage.index > 0 or program.input_mode != "external":
            if stage.index == 0:
                sizes[stage.source] = stage.band_bytes if program.input_mode == "stream" else \
                    graph.tensors[stage.source].nbytes
            held.append((stage.source, first, len(steps) - 1))
        held.append((stage.split_tensor, first, len(steps) - 1))
    for i, op in program.stage2:
        for n in op.inputs + op.outputs:
            if not graph.tensors[n].is_constant:
                sizes[n] = graph.tensors[n].nbytes
        reads = tuple(n for n in op.inputs if not graph.tensors[n].is_constant)
        steps.append(_Step(i, op.name, reads, op.outputs[0], tuple(inplace_candidates(op, graph)),
                           op.kind in ALIAS_KINDS, scratch_bytes(op, graph, True)))
    return steps, sizes, held


def _allowed(policy: str, overrides: dict[int, bool], k: int, same_size: bool) -> bool:
    if k in overrides:
        return overrides[k]
    return policy == "all" or (policy == "same_size" and same_size)


def _plan(program, steps: list[_Step], sizes: dict[str, int], held: list[tuple[str, int, int]],
          policy: str, overrides: dict[int, bool] | None = None) -> PatchArenaPlan:
    graph = program.graph
    life: dict[str, list[int]] = {}
    for k, s in enumerate(steps):
        for n in s.reads:
            life[n][1] = max(life[n][1], k)
        if s.writes not in life:
            life[s.writes] = [k, k]
    for name, first, last in held:  # a stage's source and output live over all of its patches
        span = life.setdefault(name, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    for n in graph.outputs:
        life[n][1] = len(steps) - 1
    parent: dict[str, str] = {}

    def find(n: str) -> str:
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    glife = {k: list(v) for k, v in life.items()}
    gsize = {k: sizes[k] for k in life}
    pinned = set(graph.outputs)
    inplace: dict[str, bool] = {}
    scratch_need: dict[str, tuple[int, int]] = {}

    def merge(keep: str, new: str) -> None:
        root = find(keep)
        glife[root] = [min(glife[root][0], life[new][0]), max(glife[root][1], life[new][1])]
        gsize[root] = max(gsize[root], gsize[new])
        parent[find(new)] = root

    for k, s in enumerate(steps):
        done = False
        if s.alias:
            merge(s.reads[0], s.writes)
            done = True
        else:
            for cand in s.candidates:
                if not _allowed(policy, overrides or {}, k, sizes[cand] == sizes[s.writes]):
                    continue
                root = find(cand)
                if glife[root][1] == k and not any(find(p) == root for p in pinned if p in life):
                    merge(cand, s.writes)
                    done = True
                    break
        if s.op_name is not None:
            inplace[s.op_name] = done and not s.alias
            if inplace[s.op_name] and s.scratch_if_inplace:
                scratch_need[s.op_name] = (k, s.scratch_if_inplace)
    roots = sorted({find(t) for t in life}, key=lambda r: glife[r][0])
    buffers = [Buffer(r, gsize[r], glife[r][0], glife[r][1]) for r in roots]
    buffers += [Buffer(f"scratch:{n}", size, k, k) for n, (k, size) in scratch_need.items()]
    placement = plan_arena(buffers)
    offsets = {t: placement.offsets[find(t)] for t in life}
    scratch = {n: (placement.offsets[f"scratch:{n}"], size) for n, (_, size) in scratch_need.items()}
    live = live_bytes_per_step(buffers, len(steps))
    return PatchArenaPlan(placement.peak_bytes, offsets, inplace, scratch, dict(sizes), live,
                          [s.label for s in steps], max(live, default=0))


def plan_patch_program(program, allow_inplace: bool = True, refine: bool = False) -> PatchArenaPlan:
    """The arena plan of a patch program (`tinycore.patch.build_program`); smallest of the in-place policies.

    `refine` then flips the in-place choice of one op at a time, keeping each flip that shrinks the arena (an
    in-place op keeps its input's buffer, which helps or hurts depending on what else is alive): slower, for the
    final plan rather than inside a search.
    """
    steps, sizes, held = _schedule(program)
    policies = ["none", "same_size", "all"] if allow_inplace else ["none"]
    plans = {p: _plan(program, steps, dict(sizes), held, p) for p in policies}
    policy = min(plans, key=lambda p: plans[p].arena_bytes)
    best = plans[policy]
    if not (refine and allow_inplace):
        return best
    overrides: dict[int, bool] = {}
    for k, s in enumerate(steps):
        if not s.candidates or s.alias:
            continue
        trial = dict(overrides)
        trial[k] = not _allowed(policy, overrides, k, any(sizes[c] == sizes[s.writes] for c in s.candidates))
        p = _plan(program, steps, dict(sizes), held, policy, trial)
        if p.arena_bytes < best.arena_bytes:
            best, overrides = p, trial
    return best


def check_patch_plan(program, plan: PatchArenaPlan) -> None:
    """Invariant check for tests: every buffer inside the arena and 4-byte aligned."""
    for name, off in plan.offsets.items():
        assert off % 4 == 0 and off + plan.sizes[name] <= plan.arena_bytes, (name, off, plan.arena_bytes)
    for name, (off, size) in plan.scratch.items():
        assert off % 4 == 0 and off + size <= plan.arena_bytes, (name, off, size)


__all__ = ["PatchArenaPlan", "plan_patch_program", "check_patch_plan"]
