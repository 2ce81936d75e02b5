"""The patch program: for every patch, a sub-graph of the patch stage with per-patch shapes and padding, and the
copies that feed it; then stage 2 (the rest of the graph, unchanged). A plan may chain several patch stages.

Every patch runs the same list of steps on tensors of the same names (their sizes differ at frame borders), so
one set of per-patch buffers serves all patches. Per-patch tensors of stage k are named "s<k>:<tensor>"; a reader
that needs less than a tensor holds (a residual add beside a halo) reads a crop "s<k>:<tensor>@<op name>". Border patches keep
the frame's padding; interior sides have none and read real halo pixels instead. The kernels are the graph's own
(same constants and quantization), so the stage-2 input equals the whole-frame one byte for byte.

Input modes: "frame" (the whole input frame sits in the arena), "stream" (the arena holds only the input rows one
grid row of patches needs, fetched through tc_read_input_rows), "external" (the frame lies outside the arena, e.g.
a camera buffer: the "input excluded" figure MCUNetV2 quotes).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from tinycore.errors import TinycoreError
from tinycore.ir.graph import Graph, Op, Tensor
from tinycore.ir.schema import SCHEMAS
from tinycore.ir.stats import op_macs
from tinycore.patch.plan import WINDOW_KINDS, PatchPlan, require_split, rf_nodes, stage_ranges, stage_source
from tinycore.patch.receptive import AxisWalk, grid_cuts, walk_axis

INPUT_MODES = ("frame", "stream", "external")


@dataclass(frozen=True)
class Region:
    """Rows [row0, row1) x columns [col0, col1) of a feature map, in whole-frame coordinates."""

    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def rows(self) -> int:
        return self.row1 - self.row0

    @property
    def cols(self) -> int:
        return self.col1 - self.col0


@dataclass(frozen=True)
class Copy:
    """Copy window `region` of `src` (which holds `src_region`) into `dst` (which holds `dst_region`)."""

    src: str
    dst: str
    region: Region
    src_region: Region
    dst_region: Region
    channels: int


@dataclass(frozen=True)
class ReadRows:
    """Stream mode: fetch input rows [row0, row1) (all columns) into the band buffer (first patch of a grid row)."""

    dst: str
    row0: int
    row1: int


@dataclass
class Patch:
    index: int
    grid_pos: tuple[int, int]  # (grid row, grid column)
    tile: Region  # the part of the stage's output this patch writes
    graph: Graph  # per-patch sub-graph: "s<k>:" tensors with per-patch shapes, the original constants
    steps: list[Copy | ReadRows | Op]
    input_region: Region  # rows and columns of the stage's source the patch reads

    @property
    def macs(self) -> int:
        return sum(op_macs(s, self.graph) for s in self.steps if isinstance(s, Op))

    def is_local(self, name: str) -> bool:
        """A per-patch tensor (as opposed to the stage's source or output, which are whole-frame buffers)."""
        t = self.graph.tensors.get(name)
        return t is not None and not t.is_constant


@dataclass
class PatchStage:
    index: int
    start: int  # first op
    split_op: int  # last op; its output is written tile by tile
    source: str  # what the input crops read: the graph input, the band buffer (stream) or the previous output
    split_tensor: str
    patches: list[Patch]
    band_bytes: int = 0  # stream mode, first stage: the largest row band

    @property
    def template(self) -> Patch:
        """The first patch: its step list and tensor names are those of every patch."""
        return self.patches[0]

    def tensor_bytes(self, name: str) -> int:
        """A per-patch tensor's buffer size: the largest over the patches (one set of buffers serves them all)."""
        return max(p.graph.tensors[name].nbytes for p in self.patches)


@dataclass
class PatchProgram:
    graph: Graph
    plan: PatchPlan
    input_mode: str
    stages: list[PatchStage]
    stage2: list[tuple[int, Op]] = field(default_factory=list)

    @property
    def split_tensor(self) -> str:
        """The stage-2 input."""
        return self.stages[-1].split_tensor

    @property
    def patched_macs(self) -> int:
        """MACs of the whole patched inference (all patches, halos recomputed, then stage 2)."""
        return sum(p.macs for st in self.stages for p in st.patches) + \
            sum(op_macs(op, self.graph) for _, op in self.stage2)

    @property
    def mac_overhead_pct(self) -> float:
        """Extra MACs of the halos, in percent of the whole network's MACs without patches."""
        total = sum(op_macs(op, self.graph) for op in self.graph.ops)
        return 100.0 * (self.patched_macs - total) / max(total, 1)


def _walks(graph: Graph, plan: PatchPlan, start: int, split: int) -> tuple[list[AxisWalk], list[AxisWalk], list,
                                                                            list]:
    nodes = rf_nodes(graph, split, start)
    split_tensor = graph.ops[split].outputs[0]
    s = graph.tensors[split_tensor].shape
    sizes_h = {t.name: t.shape[1] for t in graph.activations() if len(t.shape) == 4}
    sizes_w = {t.name: t.shape[2] for t in graph.activations() if len(t.shape) == 4}
    row_cuts, col_cuts = grid_cuts(s[1], plan.grid_rows), grid_cuts(s[2], plan.grid_cols)
    try:
        rows = [walk_axis(nodes, sizes_h, split_tensor, lo, hi, "rows") for lo, hi in row_cuts]
        cols = [walk_axis(nodes, sizes_w, split_tensor, lo, hi, "cols") for lo, hi in col_cuts]
    except TinycoreError as e:
        raise type(e)(f"patch plan {plan}: {e}") from None
    return rows, cols, row_cuts, col_cuts


def build_program(graph: Graph, plan: PatchPlan, input_mode: str = "frame") -> PatchProgram:
    """Derive every patch's sub-graph and copies. UnsupportedError (naming the op) if the plan cannot apply."""
    if input_mode not in INPUT_MODES:
        raise TinycoreError(f"input mode {input_mode!r}: use one of {', '.join(INPUT_MODES)}")
    require_split(graph, plan)
    stages = [_stage(graph, plan, k, start, split, input_mode if k == 0 else "frame")
              for k, (start, split) in enumerate(stage_ranges(plan))]
    stage2 = list(enumerate(graph.ops))[plan.split_op + 1:]
    return PatchProgram(graph, plan, input_mode, stages, stage2)


def _stage(graph: Graph, plan: PatchPlan, k: int, start: int, split: int, input_mode: str) -> PatchStage:
    ops = graph.ops[start:split + 1]
    rows, cols, row_cuts, col_cuts = _walks(graph, plan, start, split)
    x = graph.tensors[stage_source(graph, start)]
    # A reader gets a crop when, in some patch, it needs less than its input holds (same steps for all patches).
    crops: set[tuple[int, str]] = set()
    for j, op in enumerate(ops):
        for t in op.inputs:
            if not graph.tensors[t].is_constant and any(w.reads[op.name] != w.held[t] for w in rows + cols):
                crops.add((j, t))
    source, band_bytes = x.name, 0
    if input_mode == "stream":
        source = f"{x.name}@band"
        band_bytes = max(w.held[x.name][1] - w.held[x.name][0] for w in rows) * x.shape[2] * x.shape[3]
    patches = []
    for r, rw in enumerate(rows):
        for c, cw in enumerate(cols):
            patches.append(_patch(graph, ops, crops, f"s{k}:", x.name, len(patches), (r, c), rw, cw, source,
                                  input_mode, Region(*row_cuts[r], *col_cuts[c])))
    return PatchStage(k, start, split, source, ops[-1].outputs[0], patches, band_bytes)


def _patch(graph: Graph, stage1: list[Op], crops: set[tuple[int, str]], prefix: str, x_name: str, index: int,
           pos: tuple[int, int], rw: AxisWalk, cw: AxisWalk, source: str, input_mode: str, tile: Region) -> Patch:
    def held(t: str) -> Region:
        return Region(*rw.held[t], *cw.held[t])

    tensors: dict[str, Tensor] = {}

    def local(t: str, region: Region, name: str) -> str:
        src = graph.tensors[t]
        tensors[name] = replace(src, name=name, shape=(1, region.rows, region.cols, src.shape[3]), data=None)
        return name

    x = graph.tensors[x_name]
    full = Region(0, x.shape[1], 0, x.shape[2])
    steps: list[Copy | ReadRows | Op] = []
    in_region = held(x.name)
    src_region = full
    if input_mode == "stream":
        src_region = Region(in_region.row0, in_region.row1, 0, x.shape[2])
        if pos[1] == 0:
            steps.append(ReadRows(source, in_region.row0, in_region.row1))
    steps.append(Copy(source, local(x.name, in_region, f"{prefix}{x.name}"), in_region, src_region, in_region,
                      x.shape[3]))
    for j, op in enumerate(stage1):
        ins = []
        for t in op.inputs:
            if graph.tensors[t].is_constant:
                tensors[t] = graph.tensors[t]
                ins.append(t)
            elif (j, t) in crops:
                need = Region(*rw.reads[op.name], *cw.reads[op.name])
                name = local(t, need, f"{prefix}{t}@{op.name}")
                steps.append(Copy(f"{prefix}{t}", name, need, held(t), need, graph.tensors[t].shape[3]))
                ins.append(name)
            else:
                ins.append(f"{prefix}{t}")
        attrs = dict(op.attrs)
        if op.kind in WINDOW_KINDS:
            attrs.update(pad_top=rw.pads[op.name][0], pad_bottom=rw.pads[op.name][1],
                         pad_left=cw.pads[op.name][0], pad_right=cw.pads[op.name][1])
        out = op.outputs[0]
        name = local(out, held(out), f"{prefix}{out}")
        local_op = Op(op.kind, op.name, ins, [name], attrs)
        got = tuple(SCHEMAS[op.kind].infer([tensors[n].shape for n in ins], attrs))
        assert got == tensors[name].shape, f"patch {index} op '{op.name}': {got} != {tensors[name].shape}"
        steps.append(local_op)
    s = stage1[-1].outputs[0]
    s_full = graph.tensors[s].shape
    steps.append(Copy(f"{prefix}{s}", s, tile, held(s), Region(0, s_full[1], 0, s_full[2]), s_full[3]))
    sub = Graph(tensors, [st for st in steps if isinstance(st, Op)], [f"{prefix}{x.name}"], [f"{prefix}{s}"])
    return Patch(index, pos, tile, sub, steps, in_region)
