"""Plan the SRAM arena of a patch program: one set of per-patch buffers, the stage-2 input, the input, stage 2.

The schedule is one patch's steps (every patch runs the same steps on buffers at the same offsets, each sized
for its largest patch) followed by stage 2. The stage-2 input is alive from the first patch on (patches fill it
tile by tile); the input buffer - the whole frame in "frame" mode, the largest row band in "stream" mode, none in
"external" mode - is alive over the whole patch stage. In-place ops follow `tinycore.memory.rules` (in the patch
stage only where legal for every patch); the schedule is planned by `tinycore.memory.schedule`, as a whole graph
is. `arena_bytes` is the exact size of the generated `tc_arena`.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinycore.memory.rules import ALIAS_KINDS, inplace_candidates, patch_rows, scratch_bytes
from tinycore.memory.schedule import Schedule, Step, check_schedule_plan, plan_schedule


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


def patch_schedule(program) -> Schedule:
    """Steps of the whole inference (one patch per stage, then stage 2), buffer sizes (largest patch), and the
    stage sources and outputs held over their patch stage."""
    from tinycore.patch.program import Copy, ReadRows

    graph = program.graph
    index = {op.name: i for i, op in enumerate(graph.ops)}
    sizes: dict[str, int] = {}
    steps: list[Step] = []
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
                steps.append(Step(index[st.name], None, (src,) if template.is_local(src) else (), dst))
            pending = []
            pos = next(k for k, op in enumerate(template.graph.ops) if op.name == st.name)
            cands = list(inplace_candidates(st, template.graph))
            for p in stage.patches[1:]:
                ok = set(inplace_candidates(p.graph.ops[pos], p.graph))
                cands = [c for c in cands if c in ok]
            sizes[st.outputs[0]] = stage.tensor_bytes(st.outputs[0])
            need = tuple(max(scratch_bytes(p.graph.ops[pos], p.graph, inplace) for p in stage.patches)
                         for inplace in (False, True))
            reads = tuple(n for n in st.inputs if template.is_local(n))
            steps.append(Step(index[st.name], st.name, reads, st.outputs[0], tuple(cands), False, need))
        for src, dst in pending:  # the place into the stage's output
            steps.append(Step(stage.split_op, None, (src,), dst))
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
        steps.append(Step(i, op.name, reads, op.outputs[0], tuple(inplace_candidates(op, graph)),
                          op.kind in ALIAS_KINDS, (scratch_bytes(op, graph, False), scratch_bytes(op, graph, True)),
                          patch_rows(op, graph) is not None))
    return Schedule(tuple(steps), sizes, tuple(held), tuple(graph.outputs))


def plan_patch_program(program, allow_inplace: bool = True, refine: bool = False) -> PatchArenaPlan:
    """The arena plan of a patch program (`tinycore.patch.build_program`), checked for overlaps.

    `refine` flips the in-place choice of one op at a time, keeping each flip that shrinks the arena (see
    `tinycore.memory.schedule.plan_schedule`): slower, for the final plan rather than inside a search.
    """
    schedule = patch_schedule(program)
    p = plan_schedule(schedule, allow_inplace, refine)
    return PatchArenaPlan(p.arena_bytes, p.offsets, p.inplace, p.scratch, dict(schedule.sizes), p.live_bytes,
                          [s.label for s in schedule.steps], max(p.live_bytes, default=0))


def check_patch_plan(program, plan) -> None:
    """PlanError unless the plan's buffers and scratch are inside the arena, aligned, and never share bytes while
    both are alive (except by design: reshape, in-place ops)."""
    check_schedule_plan(patch_schedule(program), plan.arena_bytes, plan.offsets, plan.inplace, plan.scratch,
                        "patch arena plan")


__all__ = ["PatchArenaPlan", "plan_patch_program", "check_patch_plan", "patch_schedule"]
