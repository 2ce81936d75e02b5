"""Plan buffer lifetimes of any schedule in one arena, and check a plan the way TFLite Micro's planner does.

A schedule is a list of steps, each writing one named buffer and reading others, with the inputs its output may
overwrite (in-place candidates) and the scratch its kernel needs. A whole graph is the case of one step per op
(`graph_plan`); a patch program repeats one patch's steps and then runs stage 2 (`patch_plan`). Both front ends
build a `Schedule` and call `plan_schedule`, so grouping (reshape aliases and in-place outputs share a buffer),
the in-place policies, the refinement and the placement are written once. Order is deterministic: buffers are
visited in schedule order, never in set order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycore.errors import PlanError
from tinycore.memory.planner import ALIGN_BYTES, Buffer, align_up, live_bytes_per_step, plan_arena

POLICIES = ("none", "same_size", "all")  # in-place nowhere, only where output and input sizes match, wherever legal


@dataclass(frozen=True)
class Step:
    label: int  # graph op index the step belongs to (per-layer figures)
    op_name: str | None  # None for copies (no kernel, never in place)
    reads: tuple[str, ...]  # arena buffers read (constants and buffers outside the arena left out)
    writes: str
    candidates: tuple[str, ...] = ()  # reads the output may overwrite if nothing reads them later
    alias: bool = False  # the output is the first read under another name (reshape)
    scratch_bytes: tuple[int, int] = (0, 0)  # kernel scratch when (not in place, in place)
    # in place only where refining finds it shrinks the arena (a patch embedding written over its much larger
    # input keeps that input's buffer alive as long as the tokens; tinycore.memory.rules.patch_rows)
    opt_in: bool = False
    # smaller (not in place, in place) scratch the kernel can also run with, slower, each smaller than the last
    scratch_options: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Schedule:
    steps: tuple[Step, ...]
    sizes: dict[str, int]  # buffer -> bytes
    held: tuple[tuple[str, int, int], ...] = ()  # (buffer, first, last): alive over a span whoever reads it
    pinned: tuple[str, ...] = ()  # alive to the last step and never overwritten (the outputs)

    def lifetimes(self) -> dict[str, tuple[int, int]]:
        """First and last step of every buffer (its own, before grouping)."""
        life: dict[str, list[int]] = {}
        for name, first, last in self.held:
            span = life.setdefault(name, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
        for k, s in enumerate(self.steps):
            for n in s.reads:
                if n not in life:
                    raise PlanError(f"schedule step {k} ('{s.op_name or 'copy'}') reads buffer '{n}' before any "
                                    f"step writes it")
                life[n][1] = max(life[n][1], k)
            span = life.setdefault(s.writes, [k, k])
            span[1] = max(span[1], k)
        for n in self.pinned:
            life[n][1] = len(self.steps) - 1
        return {n: (a, b) for n, (a, b) in life.items()}


@dataclass(frozen=True)
class SchedulePlan:
    arena_bytes: int
    offsets: dict[str, int]  # buffer -> byte offset in the arena
    inplace: dict[str, bool]  # op name -> output written over an input (offsets equal)
    scratch: dict[str, tuple[int, int]]  # op name -> (offset, bytes), only for ops that need scratch
    live_bytes: list[int]  # per step: aligned bytes alive, a lower bound on any placement
    policy: str
    # op name -> scratch choice (0: Step.scratch_bytes, i: Step.scratch_options[i - 1]) of steps with options
    choices: dict[str, int] = field(default_factory=dict)


class Groups:
    """Buffers that share memory (aliases, in-place outputs): union-find, the root is the first member."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def join(self, keep: str, other: str) -> None:
        a, b = self.find(keep), self.find(other)
        if a != b:
            self.parent[b] = a


def _allowed(policy: str, overrides: dict[int, bool], k: int, same_size: bool, opt_in: bool = False) -> bool:
    if k in overrides:
        return overrides[k]
    return not opt_in and (policy == "all" or (policy == "same_size" and same_size))


def _plan(schedule: Schedule, life: dict[str, tuple[int, int]], policy: str, overrides: dict[int, bool],
          must_beat: int | None = None, choices: dict[int, int] | None = None) -> SchedulePlan | None:
    """One plan, each step with scratch options at its choice (step -> index, 0 when absent); None (before
    placing anything) when its live bytes alone reach `must_beat`."""
    choices = choices or {}
    sizes = schedule.sizes
    groups = Groups()
    glife = {n: list(v) for n, v in life.items()}
    gsize = {n: sizes[n] for n in life}
    inplace: dict[str, bool] = {}
    scratch_need: dict[str, tuple[int, int]] = {}  # op name -> (step, bytes)
    tails: dict[str, tuple[int, int]] = {}  # group root -> (bytes held until step, that step): shrinking in place

    def merge(keep: str, new: str) -> None:
        root = groups.find(keep)
        glife[root] = [min(glife[root][0], life[new][0]), max(glife[root][1], life[new][1])]
        gsize[root] = max(gsize[root], gsize[new])
        groups.join(root, new)

    for k, s in enumerate(schedule.steps):
        done = False
        if s.alias:
            merge(s.reads[0], s.writes)
        else:
            for cand in s.candidates:
                if not _allowed(policy, overrides, k, sizes[cand] == sizes[s.writes], s.opt_in):
                    continue
                root = groups.find(cand)
                pinned = any(groups.find(p) == root for p in schedule.pinned)  # an output must survive
                if glife[root][1] == k and not pinned:
                    held = gsize[root]
                    merge(cand, s.writes)
                    if s.opt_in and sizes[s.writes] < held:  # the input's rows beyond the output free after k
                        gsize[root] = sizes[s.writes]
                        tails[root] = (held, k)
                    done = True
                    break
        if s.op_name is not None:
            inplace[s.op_name] = done
            need = (s.scratch_bytes, *s.scratch_options)[choices.get(k, 0)][1 if done else 0]
            if need:
                scratch_need[s.op_name] = (k, need)
    roots = sorted(dict.fromkeys(groups.find(n) for n in life), key=lambda r: glife[r][0])
    buffers = [Buffer(r, gsize[r], glife[r][0], glife[r][1]) if r not in tails or gsize[r] >= tails[r][0] else
               Buffer(r, gsize[r], glife[r][0], glife[r][1], align_up(tails[r][0]) - align_up(gsize[r]), tails[r][1])
               for r in roots]
    buffers += [Buffer(f"scratch:{n}", size, k, k) for n, (k, size) in scratch_need.items()]
    live = live_bytes_per_step(buffers, len(schedule.steps))
    if must_beat is not None and max(live, default=0) >= must_beat:
        return None  # no placement can beat it: skip the costly part
    placement = plan_arena(buffers)
    offsets = {n: placement.offsets[groups.find(n)] for n in life}
    scratch = {n: (placement.offsets[f"scratch:{n}"], size) for n, (_, size) in scratch_need.items()}
    chosen = {schedule.steps[k].op_name or "": c for k, c in choices.items()}
    return SchedulePlan(placement.peak_bytes, offsets, inplace, scratch, live, policy, chosen)


def plan_schedule(schedule: Schedule, allow_inplace: bool = True, refine: bool = True,
                  memory_first: bool = True, arena_limit: int = 0) -> SchedulePlan:
    """The smallest arena plan of the in-place policies, then (refine) one op's in-place choice flipped at a time,
    then each kernel's scratch grown back to its fastest choice that does not grow the arena.

    Memory first: the plans start with every op that has scratch options (Step.scratch_options: the DSP conv's
    smaller column areas, down to none) at its smallest, so a column never raises the peak; then, op by op, the
    fastest choice is kept that leaves the arena as small. memory_first=False plans every op's fastest scratch
    (speed first: the arena may grow). `arena_limit` > 0 lets the scratch grow back until the arena reaches that
    limit (never beyond the larger of it and the smallest arena): the fastest kernels that still fit a budget.
    An in-place op keeps its input's buffer alive at the input's size, which helps or hurts depending
    on what else is alive; refining keeps each flip that shrinks the arena. The plan is checked
    (`check_schedule_plan`) before it is returned: an overlap is a planner bug, never a valid plan.
    """
    life = schedule.lifetimes()
    choices = {k: len(s.scratch_options) for k, s in enumerate(schedule.steps) if s.scratch_options and memory_first}
    policies = POLICIES if allow_inplace else ("none",)
    plans = [_plan(schedule, life, p, {}, choices=choices) for p in policies]
    best = min(plans, key=lambda p: p.arena_bytes)  # ties: the earlier policy, fewer in-place ops
    overrides: dict[int, bool] = {}
    if refine and allow_inplace:
        sizes = schedule.sizes
        for k, s in enumerate(schedule.steps):
            if not s.candidates or s.alias:
                continue
            trial = dict(overrides)
            same = any(sizes[c] == sizes[s.writes] for c in s.candidates)
            trial[k] = not _allowed(best.policy, overrides, k, same, s.opt_in)
            p = _plan(schedule, life, best.policy, trial, must_beat=best.arena_bytes, choices=choices)
            if p is not None and p.arena_bytes < best.arena_bytes:
                best, overrides = p, trial
    cap = max(best.arena_bytes, arena_limit)
    for k in sorted(choices):  # each op's fastest scratch that keeps the arena within the cap
        for c in range(choices[k]):
            trial = {**choices, k: c}
            p = _plan(schedule, life, best.policy, overrides, must_beat=cap + 1, choices=trial)
            if p is not None and p.arena_bytes <= cap:
                best, choices = p, trial
                break
    check_schedule_plan(schedule, best.arena_bytes, best.offsets, best.inplace, best.scratch)
    return best


def check_schedule_plan(schedule: Schedule, arena_bytes: int, offsets: dict[str, int], inplace: dict[str, bool],
                        scratch: dict[str, tuple[int, int]], what: str = "arena plan") -> None:
    """Raise PlanError unless every buffer and scratch lies inside the arena, aligned, and no two share a byte
    while both are alive, except an output and the input it aliases by design (a reshape, or an op the plan runs
    in place, whose output starts where that input starts).

    The groups are rebuilt from the schedule and the plan's own in-place flags, not taken from the planner, so a
    hand-made plan is checked as strictly as a planned one.
    """
    life = schedule.lifetimes()
    groups = Groups()
    spans: dict[str, tuple[int, int, int, int]] = {}  # name -> (first, last, lo, hi)
    for n, (first, last) in life.items():
        if n not in offsets:
            raise PlanError(f"{what}: buffer '{n}' has no offset")
        spans[n] = (first, last, offsets[n], offsets[n] + schedule.sizes[n])
    for k, s in enumerate(schedule.steps):
        shared = [r for r in s.reads if offsets[r] == offsets[s.writes]]
        if s.alias and shared:  # a reshape planned as an alias (one placed elsewhere is a copy)
            groups.join(shared[0], s.writes)
        elif s.op_name is not None and inplace.get(s.op_name):
            if not shared:
                raise PlanError(f"{what}: op '{s.op_name}' (step {k}) is planned in place but its output "
                                f"'{s.writes}' starts at {offsets[s.writes]}, where none of its inputs starts")
            groups.join(shared[0], s.writes)
        if s.op_name in scratch:
            off, size = scratch[s.op_name]
            spans[f"scratch:{s.op_name}"] = (k, k, off, off + size)
    for n, (_, _, lo, hi) in spans.items():
        if lo < 0 or hi > arena_bytes or lo % ALIGN_BYTES:
            raise PlanError(f"{what}: '{n}' at bytes [{lo}, {hi}) is outside the {arena_bytes} B arena or not "
                            f"{ALIGN_BYTES}-byte aligned")
    by_start = sorted(spans.items(), key=lambda kv: (kv[1][2], kv[0]))
    for i, (a, (fa, la, loa, hia)) in enumerate(by_start):
        for b, (fb, lb, lob, hib) in by_start[i + 1:]:
            if lob >= hia:
                break  # sorted by start: nothing later overlaps a's bytes
            if hib > loa and fa <= lb and fb <= la and groups.find(a) != groups.find(b):
                both = max(fa, fb)
                raise PlanError(f"{what}: '{a}' [{loa}, {hia}) and '{b}' [{lob}, {hib}) share bytes while both "
                                f"are alive (step {both}) and neither aliases the other")
