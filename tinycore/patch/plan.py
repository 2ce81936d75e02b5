"""A patch plan: the op where the patch stage ends and an n x m grid over that op's output (the stage-2 input).

Text form (CLI `--patch`): "4x4@op12" (4 grid rows x 4 grid columns, the patch stage ends with op 12, whose
output is the stage-2 input), "3x2" (grid given, split searched) or "auto" (both searched). Rows come first.
"4x4@op12,op22" chains two patch stages: ops 0..12 run on patches of op 12's output, which is then held whole
and read by ops 13..22 patch by patch; an early stage-2 block too large to run whole (MobileNetV2's 28x28 blocks)
gets its own patches that way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tinycore.errors import TinycoreError, UnsupportedError
from tinycore.ir.graph import Graph
from tinycore.patch.receptive import RFNode, Window

PATCHABLE_KINDS = frozenset({"conv2d_s8", "depthwise_conv2d_s8", "avg_pool2d_s8", "max_pool2d_s8", "pad_s8",
                             "add_s8", "quantize_s8"})
WINDOW_KINDS = frozenset({"conv2d_s8", "depthwise_conv2d_s8", "avg_pool2d_s8", "max_pool2d_s8", "pad_s8"})


@dataclass(frozen=True)
class PatchPlan:
    splits: tuple[int, ...]  # last op of each patch stage (increasing); the last one's output is the stage-2 input
    grid_rows: int
    grid_cols: int

    def __post_init__(self) -> None:
        if isinstance(self.splits, int):
            object.__setattr__(self, "splits", (self.splits,))
        object.__setattr__(self, "splits", tuple(int(v) for v in self.splits))

    @property
    def split_op(self) -> int:
        return self.splits[-1]

    def __str__(self) -> str:
        return f"{self.grid_rows}x{self.grid_cols}@" + ",".join(f"op{s}" for s in self.splits)

    @property
    def n_patches(self) -> int:
        return self.grid_rows * self.grid_cols


@dataclass(frozen=True)
class PatchRequest:
    """What the user asked for: grid and split may each be None (= search it)."""

    grid: tuple[int, int] | None
    splits: tuple[int, ...] | None

    @property
    def is_auto(self) -> bool:
        return self.grid is None


def parse_patch(text: str) -> PatchRequest:
    """'4x4@op12' / '4x4@12' / '4x4@op12,op22' / '3x2' / 'auto' -> PatchRequest; else a TinycoreError."""
    t = text.strip().lower().replace(" ", "")
    if t == "auto":
        return PatchRequest(None, None)
    m = re.fullmatch(r"(\d+)x(\d+)(?:@((?:op)?\d+(?:,(?:op)?\d+)*))?", t)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise TinycoreError(f"--patch {text!r}: expected NxM (grid rows x columns, e.g. 4x4 or 3x2), NxM@opK "
                            f"(the patch stage ends with op K, e.g. 4x4@op12), or auto")
    splits = None if m.group(3) is None else tuple(int(v.removeprefix("op")) for v in m.group(3).split(","))
    if splits is not None and list(splits) != sorted(set(splits)):
        raise TinycoreError(f"--patch {text!r}: the split ops must increase (e.g. 4x4@op12,op22)")
    return PatchRequest((int(m.group(1)), int(m.group(2))), splits)


def _window(op, axis: str) -> Window | None:
    a = op.attrs
    if op.kind not in WINDOW_KINDS:
        return None
    h = axis == "rows"
    before = a["pad_top"] if h else a["pad_left"]
    if op.kind == "pad_s8":
        return Window(1, 1, before)
    if op.kind in ("avg_pool2d_s8", "max_pool2d_s8"):
        return Window(a["filter_h"] if h else a["filter_w"], a["stride_h"] if h else a["stride_w"], before)
    return None  # convolutions: kernel size comes from the weights, see rf_nodes


def rf_nodes(graph: Graph, split_op: int, start: int = 0) -> list[RFNode]:
    """The patch stage (ops start..split_op) as receptive-field nodes (activation inputs only)."""
    nodes = []
    for op in graph.ops[start:split_op + 1]:
        ins = tuple(n for n in op.inputs if not graph.tensors[n].is_constant)
        if op.kind in ("conv2d_s8", "depthwise_conv2d_s8"):
            w = graph.tensors[op.inputs[1]].shape
            a = op.attrs
            rows = Window(w[1], a["stride_h"], a["pad_top"], a["dilation_h"])
            cols = Window(w[2], a["stride_w"], a["pad_left"], a["dilation_w"])
        else:
            rows, cols = _window(op, "rows"), _window(op, "cols")
        nodes.append(RFNode(op.name, ins, op.outputs[0], rows, cols))
    return nodes


def stage_source(graph: Graph, start: int) -> str:
    """The tensor a patch stage starting at op `start` reads: the graph input, or the previous stage's output."""
    return graph.inputs[0] if start == 0 else graph.ops[start - 1].outputs[0]


def check_split(graph: Graph, split_op: int, start: int = 0) -> str:
    """Why ops start..split_op cannot form a patch stage, or "" if they can.

    The stage may hold only ops with local windows, it must read one tensor (the graph input, or the previous
    stage's output), and exactly one tensor may cross out of it: the split op's output (patches write it piece
    by piece; anything else would need the whole frame).
    """
    if not start <= split_op < len(graph.ops):
        return f"op {split_op} does not exist (the graph has ops 0..{len(graph.ops) - 1})"
    if len(graph.inputs) != 1:
        return f"patch-based inference takes one graph input; this graph has {len(graph.inputs)}"
    x = graph.input_tensor()
    if len(x.shape) != 4:
        return f"the graph input '{x.name}' has shape {x.shape}; patches need a (1, H, W, C) feature map"
    for i, op in enumerate(graph.ops[start:split_op + 1], start=start):
        if op.kind not in PATCHABLE_KINDS:
            return (f"op {i} {op.kind} '{op.name}' needs its whole input at once and cannot run on patches; "
                    f"end the patch stage before op {i}")
    split_tensor = graph.ops[split_op].outputs[0]
    source = stage_source(graph, start)
    stage1 = {source} | {op.outputs[0] for op in graph.ops[start:split_op + 1]}
    for i, op in enumerate(graph.ops[start:split_op + 1], start=start):
        for n in op.inputs:
            if n not in stage1 and not graph.tensors[n].is_constant:
                return (f"op {i} {op.kind} '{op.name}' reads '{n}' from before the patch stage that starts at op "
                        f"{start}; a patch stage reads one tensor ('{source}')")
    if len(graph.tensors[source].shape) != 4:
        return f"tensor '{source}' has shape {graph.tensors[source].shape}; patches need a (1, H, W, C) feature map"
    for j, op in enumerate(graph.ops[split_op + 1:], start=split_op + 1):
        for n in op.inputs:
            if n in stage1 and n != split_tensor:
                return (f"tensor '{n}' of the patch stage is also read by op {j} {op.kind} '{op.name}' after the "
                        f"split; only the output of op {split_op} may cross into stage 2 (split at another op)")
    for n in graph.outputs:
        if n in stage1 and n != split_tensor:
            return f"graph output '{n}' is made inside the patch stage; split after it"
    used = {n for op in graph.ops[start:split_op + 1] for n in op.inputs}
    for i, op in enumerate(graph.ops[start:split_op], start=start):
        if op.outputs[0] not in used:
            return f"op {i} {op.kind} '{op.name}': its output feeds nothing in the patch stage"
    return ""


def require_split(graph: Graph, plan: PatchPlan) -> None:
    """UnsupportedError naming the op and the reason when `plan` cannot be honoured (never a silent fallback)."""
    for start, split in stage_ranges(plan):
        why = check_split(graph, split, start)
        if why:
            raise UnsupportedError(f"patch plan {plan}: {why}")
        s = graph.tensors[graph.ops[split].outputs[0]]
        if plan.grid_rows > s.shape[1] or plan.grid_cols > s.shape[2]:
            op = graph.ops[split]
            raise UnsupportedError(f"patch plan {plan}: op {split} {op.kind} '{op.name}' outputs {s.shape[1]} "
                                   f"rows x {s.shape[2]} columns, too few for a {plan.grid_rows}x{plan.grid_cols} "
                                   f"grid; use a smaller grid or split earlier")


def stage_ranges(plan: PatchPlan) -> list[tuple[int, int]]:
    """(first op, last op) of each patch stage."""
    starts = (0, *(s + 1 for s in plan.splits[:-1]))
    return list(zip(starts, plan.splits))
