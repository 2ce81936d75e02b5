"""C for patch-based inference: model.c loops over the patches of each patch stage, then runs stage 2.

Each patch is a static function: copy its input window (from the frame in the arena, from the caller's buffer in
"external" mode, or from the row band that `tc_read_input_rows` fills in "stream" mode), run the stage's ops with
per-patch shapes and padding (the kernels and constants of the whole-frame model, emitted by
`tinycore.export.emit`), and copy its tile into the stage's output. All patches use one set of buffers at the
offsets planned by `tinycore.memory.patch_plan`; `MODEL_ARENA_BYTES` is that plan's `arena_bytes`.

Stream mode: model.h declares `tc_read_input_rows(y0, y1, dst)` (the application's camera driver copies input
rows [y0, y1), NHWC, into dst) and `model_invoke_stream(out)` (every output packed at MODEL_OUTPUT<k>_OFFSET; with
several outputs also `model_invoke_stream_io(outputs)`, one pointer per output). The generated model_stream.c
implements the callback from a frame in memory and `model_invoke(in, out)` on top, for tests and for frames
already in Flash. One input; any number of outputs (a detector's heat and box heads).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from tinycore.errors import UnsupportedError
from tinycore.export.codegen import GeneratedModel, check_graph_supported, normalize_test_inputs, write_model
from tinycore.export.emit import EMITTERS, Emitter, c_comment, check_accumulator_bound
from tinycore.export.model_files import ModelCode
from tinycore.ir.graph import Graph, Op
from tinycore.memory.patch_plan import PatchArenaPlan, check_patch_plan, plan_patch_program

_COPY_FN = """\
/* Copy a window of `rows` rows of `row_bytes` bytes between NHWC buffers with different row pitches. */
static void tc_patch_copy(const int8_t *src, int32_t src_pitch, int8_t *dst, int32_t dst_pitch, int32_t rows,
                          int32_t row_bytes)
{
    int32_t r;
    for (r = 0; r < rows; ++r) {
        memcpy(dst + (size_t)r * (size_t)dst_pitch, src + (size_t)r * (size_t)src_pitch, (size_t)row_bytes);
    }
}
"""


def _header_lines(graph: Graph, program) -> tuple[list[str], list[str]]:
    """model.h lines of the patch schedule: defines, and the stream-mode declarations."""
    x = graph.input_tensor()
    defines = [f"#define MODEL_INPUT_ROW_BYTES {x.shape[2] * x.shape[3]}",
               f"/* patch plan {program.plan}, input mode {program.input_mode} */",
               f"#define MODEL_PATCH_INPUT_MODE \"{program.input_mode}\""]
    if program.input_mode != "stream":
        return defines, []
    return defines, [
        "", "/* Stream mode. Provided by the application: copy input rows [y0, y1) (every column and channel,",
        " * MODEL_INPUT_ROW_BYTES bytes per row) into dst. model_stream.c serves a frame in memory. */",
        "void tc_read_input_rows(int32_t y0, int32_t y1, int8_t *dst);",
        "/* Runs the model, pulling its input through tc_read_input_rows; writes every output packed at",
        " * MODEL_OUTPUT<k>_OFFSET. Returns 0. */",
        "int model_invoke_stream(int8_t *out);",
        *([] if len(graph.outputs) == 1 else
          ["/* The same with one buffer per output (MODEL_OUTPUT<k>_BYTES each), in graph order. */",
           "int model_invoke_stream_io(int8_t *const outputs[MODEL_N_OUTPUTS]);"])]


_FRAME_SOURCE = """\
/* model_stream.c (generated): tc_read_input_rows from a whole frame in memory (tests, frames in Flash). */
#include <stddef.h>
#include <string.h>

#include "model.h"

static const int8_t *tc_frame;

void tc_read_input_rows(int32_t y0, int32_t y1, int8_t *dst)
{
    memcpy(dst, tc_frame + (size_t)y0 * MODEL_INPUT_ROW_BYTES, (size_t)(y1 - y0) * MODEL_INPUT_ROW_BYTES);
}

int model_invoke(const int8_t *in, int8_t *out)
{
    tc_frame = in;
    return model_invoke_stream(out);
}

"""

_FRAME_IO_ONE = """
int model_invoke_io(const int8_t *const inputs[MODEL_N_INPUTS], int8_t *const outputs[MODEL_N_OUTPUTS])
{
    return model_invoke(inputs[0], outputs[0]);
}
"""

_FRAME_IO_MANY = """
int model_invoke_io(const int8_t *const inputs[MODEL_N_INPUTS], int8_t *const outputs[MODEL_N_OUTPUTS])
{
    tc_frame = inputs[0];
    return model_invoke_stream_io(outputs);
}
"""


def _copy_call(step, src_ptr: str, dst_ptr: str) -> str:
    r, s, d, c = step.region, step.src_region, step.dst_region, step.channels
    so = ((r.row0 - s.row0) * s.cols + (r.col0 - s.col0)) * c
    do = ((r.row0 - d.row0) * d.cols + (r.col0 - d.col0)) * c
    return (f"tc_patch_copy({src_ptr} + {so}, {s.cols * c}, {dst_ptr} + {do}, {d.cols * c}, {r.rows}, "
            f"{r.cols * c});")


def _model_code(graph: Graph, program, plan: PatchArenaPlan) -> tuple[ModelCode, list[str], list[str]]:
    """The patch schedule: one static function per patch, loops over them, then stage 2."""
    from tinycore.patch.program import Copy, ReadRows

    index = {op.name: i for i, op in enumerate(graph.ops)}
    for i, op in enumerate(graph.ops):  # errors name the graph's op, not a patch copy of it
        if op.kind in ("conv2d_s8", "depthwise_conv2d_s8"):
            check_accumulator_bound(graph, op, i)
    constants: dict[str, str] = {}
    const_decls: list[str] = []
    decls: list[str] = []
    funcs: list[str] = []
    called: list[str] = []
    offsets = dict(plan.offsets)
    external = program.input_mode == "external"

    def ptr(name: str) -> str:
        if external and name == graph.inputs[0]:
            return "in"
        return f"(tc_arena + {offsets[name]})"

    def emit_op(e: Emitter, op: Op, ident: str) -> str:
        d, call = EMITTERS[op.kind](e, op, ident)  # type: ignore[arg-type]  # a string makes unique C names
        decls.extend(d)
        if not call.startswith("/*") and op.kind not in called:
            called.append(op.kind)
        return call

    loops = []
    for stage in program.stages:
        names = []
        for patch in stage.patches:
            e = Emitter(patch.graph, offsets, dict(plan.scratch), constants, const_decls)
            t = patch.tile
            body = [f"/* stage {stage.index} patch {patch.index} (grid row {patch.grid_pos[0]}, column "
                    f"{patch.grid_pos[1]}): output rows {t.row0}..{t.row1 - 1}, columns {t.col0}..{t.col1 - 1} */",
                    f"static void tc_s{stage.index}_patch{patch.index}(const int8_t *in)", "{", "    (void)in;"]
            for st in patch.steps:
                if isinstance(st, ReadRows):
                    body.append(f"    tc_read_input_rows({st.row0}, {st.row1}, {ptr(st.dst)});")
                elif isinstance(st, Copy):
                    body.append(f"    {_copy_call(st, ptr(st.src), ptr(st.dst))}")
                else:
                    i = index[st.name]
                    call = emit_op(e, st, f"{i}_p{patch.index}")
                    body.append(f"    /* op {i} {st.kind} '{c_comment(st.name)}' */\n    {call}")
            funcs.append("\n".join(body + ["}", ""]))
            names.append(f"tc_s{stage.index}_patch{patch.index}")
        funcs.append(f"static void (*const tc_s{stage.index}_patches[{len(names)}])(const int8_t *) = {{\n    "
                     + ",\n    ".join(names) + "\n};\n")
        loops.append(f"    for (p = 0; p < {len(names)}; ++p) {{\n        tc_s{stage.index}_patches[p](in);\n    }}")
    e2 = Emitter(graph, offsets, dict(plan.scratch), constants, const_decls)
    stage2 = [f"    /* op {i} {op.kind} '{c_comment(op.name)}' */\n    {emit_op(e2, op, str(i))}"
              for i, op in program.stage2]
    mode = program.input_mode
    defines, header_decls = _header_lines(graph, program)
    code = ModelCode(
        "tinycore.export.patch_codegen", plan.arena_bytes,
        "one set of per-patch buffers, the stage outputs and stage 2, at offsets planned by "
        "tinycore.memory.patch_plan", const_decls, decls, [_COPY_FN, *funcs], [*loops, *stage2],
        [offsets[graph.inputs[0]] if mode == "frame" else None], [offsets[o] for o in graph.outputs],
        locals=(["const int8_t *in = NULL;"] if mode == "stream" else []) + ["int32_t p;"],
        header_defines=defines, header_decls=header_decls, stream=mode == "stream")
    return code, called, list(constants)


def generate_patch_c(graph: Graph, program, out_dir: str | Path, *,
                     test_inputs: Sequence[np.ndarray] | None = None, plan: PatchArenaPlan | None = None,
                     kernel_dirs: Sequence[str] = ("portable",)) -> GeneratedModel:
    """Write the C folder of `program` (tinycore.patch.build_program) to out_dir, replacing it. `plan` defaults
    to tinycore.memory.plan_patch_program(program, refine=True); the rest is as tinycore.export.generate_c."""
    out_dir = Path(out_dir)
    check_graph_supported(graph)
    if plan is None:
        plan = plan_patch_program(program, refine=True)
    for name, off in plan.offsets.items():
        if off < 0 or off + plan.sizes[name] > plan.arena_bytes:
            raise UnsupportedError(f"patch arena plan places '{name}' ({plan.sizes[name]} B) at {off}, outside the "
                                   f"{plan.arena_bytes} B arena")
    if len(graph.inputs) != 1:
        raise UnsupportedError(f"patch-based C takes one input; graph has inputs {graph.inputs}")
    check_patch_plan(program, plan)  # no two live buffers share a byte
    inputs = normalize_test_inputs(graph, test_inputs)
    code, called, constants = _model_code(graph, program, plan)
    frame_io = _FRAME_IO_ONE if len(graph.outputs) == 1 else _FRAME_IO_MANY
    extra = {"model_stream.c": _FRAME_SOURCE + frame_io} if program.input_mode == "stream" else None
    return write_model(graph, code, out_dir, inputs, called, constants, kernel_dirs, extra)
